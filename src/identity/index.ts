export {
  authenticate,
  clientExists,
  createClient,
  type Principal,
  SCOPES,
  type Scope,
} from './identity.service.js';
export { apiClients } from './identity.tables.js';

export {
  authenticate,
  clientExists,
  createClient,
  type Principal,
  SCOPES,
  type Scope,
  SERVICE_TENANT,
} from './identity.service.js';
export { apiClients } from './identity.tables.js';

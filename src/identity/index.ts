export {
  authenticate,
  clientExists,
  createAuthenticator,
  createClient,
  type Principal,
  SCOPES,
  type Scope,
  SERVICE_TENANT,
} from './identity.service.js';
export { apiClients } from './identity.tables.js';

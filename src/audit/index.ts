export { type Actor, AUDIT_ACTIONS, type AuditAction, type AuditEntryInput } from './audit.actions.js';
export {
  type AuditVerification,
  appendAudit,
  appendAuditAt,
  appendAuditStatement,
  auditAppendCtes,
  ensureAuditChain,
  lockAuditChain,
  verifyAuditChain,
} from './audit.service.js';
export { auditEntries, auditHeads } from './audit.tables.js';

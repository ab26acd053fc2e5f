export { masterKeyCheck, tenantKeys } from './crypto.tables.js';
export { deriveKey, hmac, open, openJson, SealError, seal, sealJson, sealText } from './envelope.js';
export { KeyRing, loadOrCreateMasterKey, MasterKeyError, masterKeyFor, type ScopeKeys } from './key-ring.js';
export {
  type AgreedKey,
  agreeLinkageKey,
  type LinkageKeyClaims,
  type LinkageKeyRefusal,
  openLinkageKey,
  sealLinkageKey,
} from './linkage-key.js';
export {
  type CertificateAndKey,
  type CertificateRefusal,
  type CertificateUsage,
  type CertificateVerdict,
  certificateFingerprint,
  createPrivateCa,
  type IssueCertificateOptions,
  issueCertificate,
  openSealed,
  PkiError,
  type SealedForRecipient,
  sealFor,
  verifyCertificate,
} from './pki.js';
export { pooledRandomBytes } from './random.js';

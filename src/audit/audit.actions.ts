/**
 * The closed list of audit actions (seed Ⅲ.3: every view and change is logged — who, when,
 * what, whose data).
 */
export const AUDIT_ACTIONS = {
  subjectCreated: 'subject.created',
  subjectUpdated: 'subject.updated',
  subjectDeleted: 'subject.deleted',
  subjectViewed: 'subject.viewed',
  accessHistoryViewed: 'subject.access-history-viewed',
  subjectUnchanged: 'subject.unchanged',
  entitlementCreated: 'entitlement.created',
  entitlementUpdated: 'entitlement.updated',
  entitlementDeleted: 'entitlement.deleted',
  entitlementNotFound: 'entitlement.not-found',
  entitlementExpired: 'entitlement.expired',
  controlFlagsSet: 'subject.control-flags-set',
  linkageFileReceived: 'linkage-file.received',
  linkageFileViewed: 'linkage-file.viewed',
  linkageRowRejected: 'linkage-row.rejected',
  subjectNumbered: 'subject.numbered',
  subjectCrossCheckFailed: 'subject.cross-check-failed',
  subjectNumberingFailed: 'subject.numbering-failed',
  insuredNumbered: 'insured.numbered',
  insuredCrossCheckFailed: 'insured.cross-check-failed',
  insuredNotFound: 'insured.not-found',
  insuredLoaded: 'insured.loaded',
  clinicLookup: 'lookup.clinic',
  portalLookup: 'lookup.portal',
  portalPseudonymLinked: 'lookup.pseudonym-linked',
  linkageKeyReplayed: 'lookup.linkage-key-replayed',
  linkageKeyRefused: 'lookup.linkage-key-refused',
  permitListLoaded: 'permit-list.load',
  permitListReplaced: 'permit-list.replace',
  replicasRegistered: 'exchange.replicas-registered',
  inquiryRefused: 'exchange.inquiry-refused',
  inquiryPermitted: 'exchange.inquiry-permitted',
  inquiryAnswered: 'exchange.inquiry-answered',
  inquiryHeld: 'exchange.inquiry-held',
  inquiryReleased: 'exchange.inquiry-released',
  inquiryReleaseApproved: 'exchange.inquiry-release-approved',
  inquiryRefusedByProvider: 'exchange.inquiry-refused-by-provider',
  inquiryResultsPurged: 'exchange.inquiry-results-purged',
  registrationQueued: 'outbox.registration-queued',
  deliveryBatchAnswered: 'outbox.batch-answered',
  deliveryRejected: 'outbox.record-rejected',
  deliveryGivenUp: 'outbox.record-given-up',
  deliveryRequeued: 'outbox.records-requeued',
} as const;

/** One of {@link AUDIT_ACTIONS}. */
export type AuditAction = (typeof AUDIT_ACTIONS)[keyof typeof AUDIT_ACTIONS];

/** Who did it: a system client (API token), a staff user, or the system itself. */
export interface Actor {
  kind: 'client' | 'user' | 'system';
  id: string;
}

/** What a caller records; the chain fields are filled in by `appendAudit`. */
export interface AuditEntryInput {
  actor: Actor;
  action: AuditAction;
  subjectRef?: string | null;
  requestId?: string | null;
  detail?: Record<string, unknown> | null;
}

/**
 * The remote PMH client: forwards registrations to another PMH's hub API and reads its
 * subjects back, with the remote's API written as its own strict schemas.
 *
 * @example
 * import { createRemotePmhDispatcher, RemotePmhClient } from '../remote-pmh/index.js';
 */

export type { DeliveryAnswer, RemoteRecordResult, SubjectAnswer } from './remote-pmh.answers.js';
export {
  createRemotePmhDispatcher,
  REGISTRATION_TASKS_PATH,
  type RegistrationTasksInput,
  RemotePmhClient,
  type RemotePmhClientOptions,
  SUBJECTS_PATH,
  toPublicRecord,
} from './remote-pmh.client.js';
export {
  type PublicRegistrationRecord,
  publicRegistrationRecordSchema,
  REMOTE_MASKED_MY_NUMBER,
  REMOTE_RECORD_OUTCOMES,
  type RegistrationTasksAnswer,
  type RemoteProblem,
  type RemoteRecordOutcome,
  type RemoteSubject,
  registrationTasksAnswerSchema,
  remoteProblemSchema,
  remoteSubjectSchema,
} from './remote-pmh.schemas.js';

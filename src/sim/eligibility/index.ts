export {
  bindingNumberForCard,
  type ClinicResult,
  cardSerialFor,
  type EligibilityOptions,
  EligibilitySystem,
} from './eligibility.js';

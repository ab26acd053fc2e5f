export { INSURED_CLI, INSURED_USAGE, type InsuredCliOptions, parseInsuredArgs } from './args.js';
export { type InsuredOptions, insuredPersons, loadInsured } from './registry.js';

export { type InsuredOptions, insuredPersons, loadInsured } from './registry.js';

export { parseTrainerConfig, type TrainerConfig } from "./config.js";
export { create, type TrainerServiceHandle } from "./service.js";

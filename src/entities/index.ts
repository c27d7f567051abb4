import { User } from "./User";

/** Every entity the data source knows; later domains add theirs here. */
export const entities = [User];

export { User };

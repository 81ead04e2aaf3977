import { Flags } from '@oclif/core';

/** --target, shared by the db commands. */
export const targetFlag = Flags.string({ description: 'A database from database.targets in the configuration (default: twl\'s own store).' });

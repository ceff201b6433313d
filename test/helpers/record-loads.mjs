// `node --import ./test/helpers/record-loads.mjs …`: records the modules a process loads (see record-loads-hooks.mjs).
import { register } from 'node:module';

register('./record-loads-hooks.mjs', import.meta.url, { data: { file: process.env.FERRY_LOADS_FILE } });

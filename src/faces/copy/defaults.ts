import { PIPELINE_DEFAULTS } from '../../core/defaults.js';

/** What `ferry copy` uses unless told otherwise: sha256, and the pipeline's defaults (a file of its own: the CLI declares its options with them before any of the copy's code loads). */
export const COPY_DEFAULTS = { ...PIPELINE_DEFAULTS };

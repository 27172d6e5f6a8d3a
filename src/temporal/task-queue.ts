/** The task queue neon-promote's workflows run on unless configured otherwise (NEON_PROMOTE_TASK_QUEUE). */
export const DEFAULT_TASK_QUEUE = 'neon-promote';

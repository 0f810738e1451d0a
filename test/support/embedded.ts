// The embedded PostgreSQL servers live in src/embedded (pgshift demo uses them too); tests import them from here.
export * from '../../src/embedded/server.js';

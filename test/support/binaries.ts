// The embedded PostgreSQL binaries live in src/embedded (pgshift demo uses them too); tests import them from here.
export * from '../../src/embedded/binaries.js';

'use strict';
// Wraps a resolver that serverless.yml uses so that infra/preflight.cjs runs first (once). Only osls
// passes `options`: tests and the preflight itself call resolvers without it, and skip the wait.
const guarded = (resolver) => async (context) => {
  if (context && context.options) await require('./preflight.cjs').preflight(context);
  return resolver(context);
};

module.exports = { guarded };

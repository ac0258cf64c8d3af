// Entry point for Zapier's CommonJS loader (zapierwrapper.js require()s ./index.js): the app as
// bundled by scripts/bundle.mjs, with the routing core inside.
module.exports = require('./dist/index.js');

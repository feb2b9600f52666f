#!/usr/bin/env node
// Prints the JSON form of one HCL file (Terraform's .tf or .tfvars), for
// tests/integration/test_export.py: `node hcl2json.js FILE`. A file that does
// not parse exits 1 with the parser's message on stderr.
"use strict";

const fs = require("fs");
const { parse } = require("@cdktf/hcl2json");

async function main() {
  const file = process.argv[2];
  if (!file) {
    process.stderr.write("usage: hcl2json.js FILE\n");
    process.exit(2);
  }
  const json = await parse(file, fs.readFileSync(file, "utf8"));
  process.stdout.write(JSON.stringify(json, null, 2) + "\n");
}

main().catch((err) => {
  process.stderr.write(`${err && err.message ? err.message : err}\n`);
  process.exit(1);
});

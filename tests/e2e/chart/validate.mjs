// Validates rendered Kubernetes manifests without an API server (run by
// tests/e2e/test_chart.py):
//   node validate.mjs MANIFESTS.yaml [--json OUT.json]
// Each document is checked twice:
// - against the Kubernetes OpenAPI schema (kubernetes-models' JSON schemas:
//   required fields, types, formats, enums), and the ServiceMonitor against
//   prometheus-operator's CRD schema (@kubernetes-models/prometheus-operator);
// - strictly, as `kubectl apply --validate=strict` would: every field must be
//   one the type has (@kubernetes/client-node's models name each type's
//   fields), so a misspelt or misplaced key fails here instead of being
//   dropped by the API server. The ServiceMonitor's spec has no such model:
//   its metadata is checked strictly, its spec by the CRD schema alone, and
//   the test checks the fields it relies on.
// Prints one line per document; exits 1 when any fails. --json writes the
// documents, parsed, for the test to read.
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { parseAllDocuments } from 'yaml';
import * as k8s from '@kubernetes/client-node';

const require = createRequire(import.meta.url);

// apiVersion -> the module of kubernetes-models that holds its kinds.
function schemaModule(apiVersion) {
  if (apiVersion === 'monitoring.coreos.com/v1')
    return require('@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1');
  return require(`kubernetes-models/${apiVersion}`);
}

function validateSchema(doc) {
  const Kind = schemaModule(doc.apiVersion)[doc.kind];
  if (!Kind) return [`no schema for ${doc.apiVersion} ${doc.kind}`];
  try {
    new Kind(doc).validate();
    return [];
  } catch (e) {
    const details = (e.errors || []).map((x) => `${x.instancePath || '/'} ${x.message}`);
    return details.length ? details : [String(e.message || e)];
  }
}

// The client-node model of a top-level kind: apps/v1 StatefulSet -> V1StatefulSet.
function modelName(apiVersion, kind) {
  const version = apiVersion.split('/').pop();
  return version.charAt(0).toUpperCase() + version.slice(1) + kind;
}

function isObject(v) {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

// Walks `value` as the model type `type` names; pushes "PATH: what" to errors.
function strict(value, type, path, errors) {
  const array = /^Array<(.+)>$/.exec(type);
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
  if (array) {
    if (!Array.isArray(value)) return errors.push(`${path}: expected a list`);
    value.forEach((v, i) => strict(v, array[1], `${path}[${i}]`, errors));
  } else if (map) {
    if (!isObject(value)) return errors.push(`${path}: expected a map`);
    for (const [k, v] of Object.entries(value)) strict(v, map[1], `${path}.${k}`, errors);
  } else if (type === 'string' || type === 'Date') {
    if (typeof value !== 'string')
      errors.push(`${path}: expected a string, got ${JSON.stringify(value)}`);
  } else if (type === 'number') {
    if (typeof value !== 'number')
      errors.push(`${path}: expected a number, got ${JSON.stringify(value)}`);
  } else if (type === 'boolean') {
    if (typeof value !== 'boolean')
      errors.push(`${path}: expected a boolean, got ${JSON.stringify(value)}`);
  } else if (type === 'IntOrString') {
    if (typeof value !== 'string' && !Number.isInteger(value))
      errors.push(`${path}: expected an integer or a string`);
  } else if (type === 'any' || type === 'object') {
    // free-form
  } else {
    const model = k8s[type];
    if (!model || typeof model.getAttributeTypeMap !== 'function')
      return errors.push(`${path}: no model for type ${type}`);
    if (!isObject(value)) return errors.push(`${path}: expected an object (${type})`);
    const fields = new Map(model.getAttributeTypeMap().map((a) => [a.baseName, a.type]));
    for (const [k, v] of Object.entries(value)) {
      if (!fields.has(k)) errors.push(`${path}.${k}: unknown field of ${type}`);
      else strict(v, fields.get(k), `${path}.${k}`, errors);
    }
  }
}

function validateStrict(doc) {
  const errors = [];
  const name = modelName(doc.apiVersion, doc.kind);
  if (k8s[name]) {
    strict(doc, name, doc.kind, errors);
  } else {
    // A custom resource: apiVersion, kind and metadata are Kubernetes'.
    for (const k of Object.keys(doc))
      if (!['apiVersion', 'kind', 'metadata', 'spec'].includes(k))
        errors.push(`${doc.kind}.${k}: unknown field`);
    strict(doc.metadata, 'V1ObjectMeta', `${doc.kind}.metadata`, errors);
  }
  return errors;
}

const args = process.argv.slice(2);
const jsonAt = args.indexOf('--json');
const jsonOut = jsonAt >= 0 ? args.splice(jsonAt, 2)[1] : null;
if (args.length !== 1) {
  console.error('usage: node validate.mjs MANIFESTS.yaml [--json OUT.json]');
  process.exit(2);
}

const docs = [];
let failed = 0;
for (const parsed of parseAllDocuments(readFileSync(args[0], 'utf8'))) {
  if (parsed.errors.length) {
    console.log(`FAIL YAML: ${parsed.errors.map((e) => e.message).join('; ')}`);
    failed++;
    continue;
  }
  const doc = parsed.toJS();
  if (doc === null) continue; // an empty document (a template that rendered nothing)
  const label = `${doc.kind}/${doc.metadata && doc.metadata.name}`;
  if (!doc.apiVersion || !doc.kind) {
    console.log(`FAIL ${label}: no apiVersion or kind`);
    failed++;
    continue;
  }
  const errors = [...validateSchema(doc), ...validateStrict(doc)];
  if (errors.length) {
    failed++;
    console.log(`FAIL ${doc.apiVersion} ${label}`);
    for (const e of errors) console.log(`  ${e}`);
  } else {
    console.log(`ok ${doc.apiVersion} ${label}`);
  }
  docs.push(doc);
}
if (jsonOut) writeFileSync(jsonOut, JSON.stringify(docs));
if (docs.length === 0) {
  console.log('FAIL: no documents');
  failed++;
}
process.exit(failed ? 1 : 0);

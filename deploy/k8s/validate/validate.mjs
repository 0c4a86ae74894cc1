// Offline schema check of the Kubernetes manifests under deploy/k8s.
//
//   node deploy/k8s/validate/validate.mjs [K8S_DIR]
//
// Every YAML document of every *.yaml file is constructed as the
// kubernetes-models class of its apiVersion/kind and validate()d: missing
// required fields, wrong types and malformed values (quantities, ports) are
// errors; unknown fields are not caught (the models' schemas allow them).
// The PodMonitor CRD is checked with @kubernetes-models/prometheus-operator.
// kustomization.yaml files are not API objects: for each one the listed
// resources must exist, and its JSON 6902 patches are applied here to the
// resources they target (the effective output of `kubectl apply -k`, minus
// image/label transformers) and the patched objects validated again, so the
// GPU overlay's Deployment is checked as the cluster would receive it.
//
// Needs `npm ci` in this folder (deploy/scripts/install-deps.sh runs it);
// makes no network access. Exit status 0 when all is valid.

import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
let yaml;
try {
  yaml = require("js-yaml");
} catch (e) {
  console.error(`validate: npm packages missing in ${here}; run ` +
                "deploy/scripts/install-deps.sh (npm ci there)");
  process.exit(2);
}

const k8sDir = path.resolve(process.argv[2] || path.join(here, ".."));

// apiVersion -> module holding its kinds.
function modelModule(apiVersion) {
  if (apiVersion === "monitoring.coreos.com/v1") {
    return "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1";
  }
  // "v1" (core) -> kubernetes-models/v1, "apps/v1" -> kubernetes-models/apps/v1
  return `kubernetes-models/${apiVersion}`;
}

function modelClass(doc) {
  let mod;
  try {
    mod = require(modelModule(doc.apiVersion));
  } catch (e) {
    throw new Error(`unknown apiVersion ${doc.apiVersion}`);
  }
  const cls = mod[doc.kind];
  if (typeof cls !== "function") {
    throw new Error(`unknown kind ${doc.kind} in ${doc.apiVersion}`);
  }
  return cls;
}

function describe(err) {
  if (Array.isArray(err.errors)) {
    return err.errors
        .map((e) => `${e.instancePath || "/"} ${e.message}` +
                    (e.params ? ` ${JSON.stringify(e.params)}` : ""))
        .join("; ");
  }
  return err.message;
}

let problems = 0;
let checked = 0;
function check(where, doc) {
  try {
    const cls = modelClass(doc);
    new cls(doc).validate();
    checked++;
    console.log(`ok   ${where}: ${doc.apiVersion} ${doc.kind} ` +
                `${doc.metadata?.name ?? ""}`);
  } catch (err) {
    problems++;
    console.log(`FAIL ${where}: ${doc.apiVersion} ${doc.kind} ` +
                `${doc.metadata?.name ?? ""}: ${describe(err)}`);
  }
}

function loadDocs(file) {
  return yaml.loadAll(fs.readFileSync(file, "utf8")).filter((d) => d != null);
}

// RFC 6902 test/add/replace/remove with RFC 6901 pointers (what kustomize's
// JSON patches use here).
function applyPatch(target, ops, where) {
  const obj = structuredClone(target);
  for (const op of ops) {
    const keys = op.path.split("/").slice(1)
        .map((k) => k.replace(/~1/g, "/").replace(/~0/g, "~"));
    const last = keys.pop();
    let parent = obj;
    for (const key of keys) {
      if (parent == null || !(key in parent)) {
        throw new Error(`${where}: ${op.op} ${op.path}: no ${key}`);
      }
      parent = parent[key];
    }
    const isArray = Array.isArray(parent);
    const index = last === "-" ? parent.length : Number(last);
    if (op.op === "test") {
      const actual = isArray ? parent[index] : parent[last];
      if (JSON.stringify(actual) !== JSON.stringify(op.value)) {
        throw new Error(`${where}: test ${op.path}: is ` +
                        `${JSON.stringify(actual)}, not ${JSON.stringify(op.value)}`);
      }
    } else if (op.op === "add") {
      if (isArray) parent.splice(index, 0, op.value);
      else parent[last] = op.value;
    } else if (op.op === "replace" || op.op === "remove") {
      if (!(isArray ? index < parent.length : last in parent)) {
        throw new Error(`${where}: ${op.op} ${op.path}: nothing there`);
      }
      if (op.op === "replace") parent[isArray ? index : last] = op.value;
      else if (isArray) parent.splice(index, 1);
      else delete parent[last];
    } else {
      throw new Error(`${where}: unsupported patch op ${op.op}`);
    }
  }
  return obj;
}

function groupVersion(apiVersion) {
  const [group, version] = apiVersion.includes("/") ?
      apiVersion.split("/") : ["", apiVersion];
  return { group, version };
}

// Resources a kustomization produces (recursively through bases), patched.
function kustomize(dir) {
  const file = path.join(dir, "kustomization.yaml");
  const kust = loadDocs(file)[0];
  let objects = [];
  for (const res of kust.resources ?? []) {
    const p = path.join(dir, res);
    if (!fs.existsSync(p)) throw new Error(`${file}: resource ${res} missing`);
    if (fs.statSync(p).isDirectory()) {
      objects = objects.concat(kustomize(p));
    } else {
      objects = objects.concat(loadDocs(p).map((doc) => ({ doc, from: p })));
    }
  }
  for (const [i, patch] of (kust.patches ?? []).entries()) {
    const t = patch.target ?? {};
    const where = `${file} patches[${i}]`;
    const ops = yaml.load(patch.patch);
    if (!Array.isArray(ops)) {
      throw new Error(`${where}: only JSON 6902 patches are checked here`);
    }
    const matches = objects.filter(({ doc }) => {
      const gv = groupVersion(doc.apiVersion);
      return (!t.kind || t.kind === doc.kind) &&
             (!t.name || t.name === doc.metadata?.name) &&
             (t.group === undefined || t.group === gv.group) &&
             (!t.version || t.version === gv.version);
    });
    if (matches.length === 0) throw new Error(`${where}: targets nothing`);
    for (const m of matches) {
      m.doc = applyPatch(m.doc, ops, where);
      m.from = `${file} (patched)`;
    }
  }
  return objects;
}

function yamlFiles(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) {
      return e.name === "validate" || e.name === "node_modules" ?
          [] : yamlFiles(p);
    }
    return /\.ya?ml$/.test(e.name) ? [p] : [];
  });
}

const files = yamlFiles(k8sDir);
for (const file of files) {
  const rel = path.relative(k8sDir, file);
  if (path.basename(file) === "kustomization.yaml") {
    try {
      const out = kustomize(path.dirname(file));
      for (const { doc } of out.filter((o) => o.from.endsWith("(patched)"))) {
        check(`${rel} output`, doc);
      }
      console.log(`ok   ${rel}: ${out.length} resources`);
    } catch (err) {
      problems++;
      console.log(`FAIL ${rel}: ${err.message}`);
    }
    continue;
  }
  let docs;
  try {
    docs = loadDocs(file);
  } catch (err) {
    problems++;
    console.log(`FAIL ${rel}: ${err.message}`);
    continue;
  }
  docs.forEach((doc, i) => check(docs.length > 1 ? `${rel}[${i}]` : rel, doc));
}

console.log(`${checked} objects valid, ${problems} problem(s) in ` +
            `${files.length} files under ${k8sDir}`);
process.exit(problems === 0 && checked > 0 ? 0 : 1);

// Runs charts/tokenstorm/health.lua, the Argo CD health check, in Debian's Lua 5.1 (lua5.1; Argo CD runs
// gopher-lua, a Lua 5.1). The object is handed to the script as the global `obj`, as Argo CD does.
//   node health_lua_test.js CHART_DIR               every case of CHART_DIR/health_test.yaml (Argo CD's
//                                                   fixture layout); exit 1 when one differs
//   node health_lua_test.js --object CHART_DIR FILE  prints "STATUS<TAB>MESSAGE" for one object (YAML or
//                                                   JSON, e.g. `kubectl get lt NAME -o json`)
// js-yaml comes from tools/node (scripts/setup.sh); NODE_PATH points there.
const fs = require('fs'), path = require('path'), { spawnSync } = require('child_process');
const yaml = require('js-yaml');

// A JSON value as a Lua table constructor.
function lit(v) {
  if (v === null || v === undefined) return 'nil';
  if (Array.isArray(v)) return '{' + v.map(lit).join(', ') + '}';
  if (typeof v === 'object') {
    return '{' + Object.entries(v).map(([k, x]) => `[${JSON.stringify(k)}] = ${lit(x)}`).join(', ') + '}';
  }
  if (typeof v === 'string') return JSON.stringify(v);
  return String(v);
}

// [status, message] of health.lua for one object, or throws with the interpreter's error.
function health(script, obj) {
  const src = `obj = ${lit(obj)}\nlocal function check()\n${script}\nend\nlocal hs = check()\n` +
              `io.write(tostring(hs.status), "\\t", tostring(hs.message))\n`;
  const run = spawnSync('lua5.1', ['-'], { input: src, encoding: 'utf8' });
  if (run.error) throw new Error(`cannot run lua5.1 (scripts/setup.sh installs it): ${run.error.message}`);
  if (run.status !== 0) throw new Error(run.stderr.trim());
  const tab = run.stdout.indexOf('\t');
  return [run.stdout.slice(0, tab), run.stdout.slice(tab + 1)];
}

const load = (file) => yaml.load(fs.readFileSync(file, 'utf8'), { schema: yaml.JSON_SCHEMA });

if (process.argv[2] === '--object') {
  const script = fs.readFileSync(path.join(process.argv[3], 'health.lua'), 'utf8');
  try {
    console.log(health(script, load(process.argv[4])).join('\t'));
  } catch (e) {
    console.error(`health.lua: ${process.argv[4]}: ${e.message}`);
    process.exit(2);
  }
  process.exit(0);
}

const dir = process.argv[2];
const script = fs.readFileSync(path.join(dir, 'health.lua'), 'utf8');
const tests = load(path.join(dir, 'health_test.yaml')).tests;
let failed = 0;
for (const t of tests) {
  let status, message;
  try {
    [status, message] = health(script, load(path.join(dir, t.inputPath)));
  } catch (e) {
    console.log('ERROR', t.inputPath, e.message);
    failed++;
    continue;
  }
  const ok = status === t.healthStatus.status && message === t.healthStatus.message;
  if (!ok) failed++;
  console.log(ok ? 'ok  ' : 'FAIL', t.inputPath, '->', status, JSON.stringify(message),
              ok ? '' : `(want ${t.healthStatus.status} ${JSON.stringify(t.healthStatus.message)})`);
}
console.log(`${tests.length - failed} passed, ${failed} failed`);
process.exit(failed || tests.length === 0 ? 1 : 0);

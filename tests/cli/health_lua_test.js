// Runs charts/tokenstorm/health.lua against its health_test.yaml fixtures (Argo CD's layout) in fengari, a
// Lua VM for Node (Argo CD runs Lua 5.1; the script uses nothing newer). scripts/setup.sh installs fengari
// and js-yaml into tools/node. Usage: node health_lua_test.js CHART_DIR
const fs = require('fs'), path = require('path'), yaml = require('js-yaml');
const { lua, lauxlib, lualib, to_luastring, to_jsstring } = require('fengari');
const dir = process.argv[2];
const script = fs.readFileSync(path.join(dir, 'health.lua'), 'utf8');
function lit(v) {
  if (v === null || v === undefined) return 'nil';
  if (Array.isArray(v)) return '{' + v.map(lit).join(', ') + '}';
  if (typeof v === 'object') return '{' + Object.entries(v).map(([k, x]) => `[${JSON.stringify(k)}] = ${lit(x)}`).join(', ') + '}';
  if (typeof v === 'string') return JSON.stringify(v);
  return String(v);
}
const tests = yaml.load(fs.readFileSync(path.join(dir, 'health_test.yaml'), 'utf8')).tests;
let fail = 0;
for (const t of tests) {
  const obj = yaml.load(fs.readFileSync(path.join(dir, t.inputPath), 'utf8'), { schema: yaml.JSON_SCHEMA });
  const src = `local obj = ${lit(obj)}\nlocal function check()\n${script}\nend\nlocal hs = check()\nreturn hs.status, hs.message`;
  const L = lauxlib.luaL_newstate(); lualib.luaL_openlibs(L);
  if (lauxlib.luaL_loadstring(L, to_luastring(src)) !== lua.LUA_OK || lua.lua_pcall(L, 0, 2, 0) !== lua.LUA_OK) {
    console.log('ERROR', t.inputPath, to_jsstring(lua.lua_tostring(L, -1))); fail++; continue;
  }
  const status = to_jsstring(lua.lua_tostring(L, -2)), message = to_jsstring(lua.lua_tostring(L, -1));
  const ok = status === t.healthStatus.status && message === t.healthStatus.message;
  if (!ok) fail++;
  console.log(ok ? 'ok  ' : 'FAIL', t.inputPath, '->', status, JSON.stringify(message));
}
process.exit(fail ? 1 : 0);

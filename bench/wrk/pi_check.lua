-- privacyIDEA: POST /validate/check with PIN + TOTP ("pass" = PIN .. code) for one user each.
-- Lines: "<user> <pin+code>". HTTP 200 for accept and reject alike: ACCEPT is read from the body.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

local realm = os.getenv("BENCH_REALM") or "realm1"
local t0 = {}

function init(args)
  load_slice()
end

function request()
  local item = next_item()
  return wrk.format("POST", "/validate/check", { ["Content-Type"] = "application/json" },
    '{"user":"' .. item[1] .. '","realm":"' .. realm .. '","pass":"' .. item[2] .. '"}')
end

function response(status, headers, body)
  count(status)
  if status == 200 and body:find('"authentication"%s*:%s*"ACCEPT"') then
    ok = ok + 1
  else
    count("not_accept")
    note_error(status, body)
  end
end

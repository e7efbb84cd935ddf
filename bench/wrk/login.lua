-- A full login: POST /api/auth/login (password, argon2id) and, with the pre-verification token
-- it returns, POST /api/auth/2fa/verification/check (TOTP). One connection per wrk thread
-- (-c equal to -t), so each response belongs to the request this thread sent last.
-- Lines: "<email> <code>". The password is BENCH_PASSWORD. Latency of one unit = both requests.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

local password = os.getenv("BENCH_PASSWORD")
local state = "login"
local token = nil
local item = nil
local t0 = 0

function init(args)
  load_slice()
end

function request()
  if state == "login" then
    item = next_item()
    t0 = now_us()
    return wrk.format("POST", "/api/auth/login", { ["Content-Type"] = "application/json" },
      '{"username":"' .. item[1] .. '","password":"' .. password .. '"}')
  end
  return wrk.format("POST", "/api/auth/2fa/verification/check?providerType=TOTP&verificationCode=" .. item[2],
    { ["X-Authorization"] = "Bearer " .. token }, "")
end

function response(status, headers, body)
  if state == "login" then
    count("login_" .. status)
    if status == 200 then
      token = body:match('"token"%s*:%s*"([^"]+)"')
      if token then state = "check" end
    else
      note_error("login " .. status, body)
    end
  else
    count("check_" .. status)
    state = "login"
    if status == 200 then
      ok = ok + 1
      lat[#lat + 1] = now_us() - t0
    else
      note_error("check " .. status, body)
    end
  end
end

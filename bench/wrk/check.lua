-- The second step alone: POST /api/auth/2fa/verification/check with a pre-minted
-- pre-verification token and the current TOTP code. Lines: "<token> <code>", one per user,
-- each thread takes every n-th line so no user is sent twice.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

function init(args)
  load_slice()
end

function request()
  local item = next_item()
  return wrk.format("POST", "/api/auth/2fa/verification/check?providerType=TOTP&verificationCode=" .. item[2],
    { ["X-Authorization"] = "Bearer " .. item[1] }, "")
end

function response(status, headers, body)
  count(status)
  if status == 200 then ok = ok + 1 else note_error(status, body) end
end

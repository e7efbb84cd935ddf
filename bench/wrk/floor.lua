-- POST to the storage floor of a check (bench/handoff_app.py); counts statuses.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
wrk.method = "POST"

function response(status, headers, body)
  count(status)
  if status == 200 then ok = ok + 1 else note_error(status, body) end
end

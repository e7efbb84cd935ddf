-- GET of a trivial endpoint (the framework's bare ceiling); counts statuses.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

function response(status, headers, body)
  count(status)
  if status == 200 then ok = ok + 1 else note_error(status, body) end
end

-- starve: lesson 12's experiment 2 in Lua. A heartbeat coroutine beside a hog coroutine that
-- spins on the clock for hog_ms and never yields.
--
-- "A coroutine only suspends its execution by explicitly calling a yield function" (Lua 5.4
-- manual, 2.6): nothing else can take the CPU from a running coroutine, neither the language
-- nor the scheduler below, which regains control only when a coroutine yields. So the hog
-- runs its hog_ms to the end and the heartbeat is silent meanwhile (de Moura & Ierusalimschy,
-- "Revisiting Coroutines", 2009, on cooperative multitasking with coroutines).
--
-- Lua's standard library has no sleep and no wall clock finer than os.time()'s seconds; the
-- finest clock is os.clock(), the process's CPU time. So this file carries a tiny round-robin
-- scheduler: a coroutine "sleeps" by yielding its wake-up time, and when nothing is runnable
-- the scheduler spin-waits on os.clock() until the earliest wake-up. The process therefore
-- never blocks, and its CPU time tracks wall time (on a CPU it has to itself; on a shared one
-- it runs slow by the share it lost, and the printed times are CPU ms).
-- Runs on Lua 5.4 and LuaJIT 2.1 (Lua 5.1 syntax only).
--
-- Usage: lua5.4|luajit starve.lua <hog_ms>   (lesson 12's contract, see polyglot.py)

local hog_ms = tonumber(arg[1])
if not hog_ms then
  io.stderr:write("usage: starve.lua <hog_ms>\n")
  os.exit(2)
end
io.stdout:setvbuf("no")   -- every line written at once: a killed run still shows its beats

local clock = os.clock
local t0 = clock()
local function ms() return (clock() - t0) * 1000 end
local function say(fmt, ...) io.stdout:write(string.format(fmt, ...), "\n") end

-- the scheduler: a FIFO of runnable coroutines and a list of sleepers {wake time, coroutine};
-- a coroutine yields ("sleep", seconds) or ("spawn", coroutine), or returns when done
local ready, sleepers = {}, {}

local function schedule(first)
  ready[1] = first
  while #ready > 0 or #sleepers > 0 do
    if #ready == 0 then
      local earliest = 1
      for k = 2, #sleepers do
        if sleepers[k][1] < sleepers[earliest][1] then earliest = k end
      end
      while clock() < sleepers[earliest][1] do end   -- idle: spin (there is no sleep)
    end
    local now = clock()
    for k = #sleepers, 1, -1 do                      -- wake whoever is due
      if sleepers[k][1] <= now then
        ready[#ready + 1] = table.remove(sleepers, k)[2]
      end
    end
    local co = table.remove(ready, 1)
    if co then
      local ok, kind, value = coroutine.resume(co)
      if not ok then error(kind) end
      if kind == "sleep" then
        sleepers[#sleepers + 1] = { clock() + value, co }
      elseif kind == "spawn" then
        ready[#ready + 1] = value
        ready[#ready + 1] = co
      end                                            -- nothing: the coroutine has finished
    end
  end
end

local beats, stop_at = 0, nil

local function hog()
  local start = ms()
  say("hog_start %.3f", start)
  local x = 0
  while ms() - start < hog_ms do x = x + 1 end      -- a clock read and an add; no yield
  say("hog_end %.3f", ms())
  stop_at = beats + 20
end

local function heartbeat()
  while true do
    coroutine.yield("sleep", 0.001)
    say("beat %.3f", ms())
    beats = beats + 1
    if beats == 20 then coroutine.yield("spawn", coroutine.create(hog)) end
    if stop_at and beats >= stop_at then return end
  end
end

schedule(coroutine.create(heartbeat))
say("runtime %s, coroutines on a round-robin scheduler, clock: os.clock (CPU time; the " ..
  "scheduler spins when idle)", jit and jit.version or _VERSION)

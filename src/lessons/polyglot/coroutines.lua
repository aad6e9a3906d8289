-- coroutines: what "asymmetric stackful coroutines" means, in lines a lesson can check.
--
-- Lua 5.4 manual, 2.6 "Coroutines" and 6.2 "Coroutine Manipulation"; de Moura &
-- Ierusalimschy, "Revisiting Coroutines" (ACM TOPLAS 31(2), 2009), whose terms these are:
--   asymmetric (非对称): resume and yield are a pair; yield always returns to the resumer;
--   stackful (有栈): a coroutine has its own stack, so a yield can come from any depth of
--   ordinary calls, not only from the coroutine's own body (a Python generator can yield only
--   from its own frame; `yield from` / `await` must be written at every level between);
--   first-class: a coroutine is a value, created by coroutine.create or coroutine.wrap.
-- Runs on Lua 5.4 and LuaJIT 2.1 (Lua 5.1 syntax only). Lines printed:
--   deep_yield 1 2 3            values yielded three plain calls below the coroutine's body
--   deep_resume_returns done    what the body returned once resumed again
--   wrap_generator 1 4 9 16 25  a generator made with coroutine.wrap (a function, not a value
--                               you resume)
--   status <when> <status>      suspended / running / normal / dead
--   isyieldable <where> <bool>  (Lua 5.3+; "isyieldable unavailable" where it is missing)
--   c_boundary_yield_error true yielding through a C function that does not allow it fails
--   asymmetric_resume_resumer_fails true   a coroutine cannot resume the one that resumed it
--   asymmetric_order A B A_after_B_yields main   every yield went back to its own resumer
--   runtime <version>

io.stdout:setvbuf("line")

-- 1. A yield three calls deep: innermost() yields for the whole coroutine, and the two
-- functions between it and the coroutine's body need not know (no colouring of callers).
local function innermost() return coroutine.yield(1, 2, 3) end
local function middle() return innermost() end
local function outer() middle(); return "done" end

local co = coroutine.create(function() return outer() end)
local _, a, b, c = coroutine.resume(co)
print(string.format("deep_yield %s %s %s", tostring(a), tostring(b), tostring(c)))
local _, result = coroutine.resume(co)      -- the yield returns; the calls unwind normally
print("deep_resume_returns " .. tostring(result))

-- 2. A generator: coroutine.wrap gives a function that resumes the coroutine on each call.
local function squares(n)
  return coroutine.wrap(function()
    for i = 1, n do coroutine.yield(i * i) end
  end)
end
local got = {}
for v in squares(5) do got[#got + 1] = v end  -- the generic for stops at the first nil
print("wrap_generator " .. table.concat(got, " "))

-- 3. The four states. "normal": a coroutine that resumed another one is active but not
-- running (asymmetric: it waits for that one to yield back to it).
local inner, outer_co
inner = coroutine.create(function()
  print("status outer_while_inner_runs " .. coroutine.status(outer_co))
  coroutine.yield()
end)
outer_co = coroutine.create(function()
  print("status inside " .. coroutine.status(outer_co))
  coroutine.resume(inner)
  coroutine.yield()
end)
print("status created " .. coroutine.status(outer_co))
coroutine.resume(outer_co)
print("status after_yield " .. coroutine.status(outer_co))
coroutine.resume(outer_co)
print("status finished " .. coroutine.status(outer_co))

-- 4. isyieldable: true inside a coroutine, false in the main program (Lua 5.3+; LuaJIT 2.1
-- has it as an extension, plain Lua 5.1/5.2 does not: hence the guard).
if coroutine.isyieldable then
  print("isyieldable main " .. tostring(coroutine.isyieldable()))
  local probe = coroutine.wrap(function() print("isyieldable coroutine " .. tostring(coroutine.isyieldable())) end)
  probe()
else
  print("isyieldable unavailable")
end

-- 5. The limit of "stackful" in Lua: the coroutine's stack is a Lua stack; a C function in
-- the middle (table.sort calling its comparator) cannot be suspended unless it was written
-- with a continuation (lua_callk, manual 4.5), and table.sort was not: the yield is an error.
local sorter = coroutine.create(function()
  table.sort({ 3, 1, 2 }, function(x, y) coroutine.yield(); return x < y end)
end)
local sorted_ok = coroutine.resume(sorter)
print("c_boundary_yield_error " .. tostring(not sorted_ok))

-- 6. Asymmetric: a yield always returns to the resumer; no coroutine can hand control
-- sideways. A coroutine that resumed another is "normal", not suspended, so the inner one
-- cannot resume it back (coroutine.resume fails: "cannot resume non-suspended coroutine" in
-- Lua 5.4, "cannot resume running coroutine" in LuaJIT, hence only the boolean is printed).
-- Symmetric transfer, as in Modula-2 or greenlet's switch, is what "Revisiting Coroutines"
-- builds on top of this pair, with a dispatcher as the go-between (pipeline.lua does the same).
local order, co_a, co_b = {}, nil, nil
co_b = coroutine.create(function()
  order[#order + 1] = "B"
  local ok = coroutine.resume(co_a)       -- try to switch straight back to A: refused
  print("asymmetric_resume_resumer_fails " .. tostring(not ok))
  coroutine.yield()                       -- the only way back to A, its resumer
end)
co_a = coroutine.create(function()
  order[#order + 1] = "A"
  coroutine.resume(co_b)                  -- B runs until it yields, then A goes on
  order[#order + 1] = "A_after_B_yields"
  coroutine.yield()                       -- back to the main program, A's resumer, not to B
end)
coroutine.resume(co_a)
order[#order + 1] = "main"
print("asymmetric_order " .. table.concat(order, " "))

print("runtime " .. (jit and jit.version or _VERSION))

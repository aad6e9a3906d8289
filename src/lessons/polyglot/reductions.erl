%% reductions: a demo for lesson 12. Why a busy Erlang process cannot starve a sleeping one,
%% even with one scheduler thread (run with `erl +S 1:1`).
%%
%% BEAM preempts by counting work, not by a timer. A process scheduled in gets a budget of
%% CONTEXT_REDS reductions (规约) (4000 in OTP 25: erts/emulator/beam/erl_vm.h; the value
%% undocumented `erlang:system_info(context_reductions)` returns, erl_bif_info.c); each call
%% spends one: OTP 25's JIT (emu_flavor jit on x86-64) starts every function with i_test_yield
%% (jit/x86/ops.tab, int_func_start: "yielding on function ingress"), a `dec FCALLS; jle`
%% (emit_i_test_yield, jit/x86/instr_common.cpp). At zero the process goes back in the run
%% queue and erts_schedule (erl_process.c) picks the next runnable one; there it also reads
%% the clock and fires due timers (erts_bump_timers), which is how a sleeper wakes on time.
%% A loop in Erlang is a tail call, so it pays like any other code.
%%
%% Three processes share the one scheduler: a busy one (a tail-recursive loop adding forever),
%% an idle one (`receive after 1`: it sleeps 1 ms and counts its wake-ups), and this main
%% process, which itself sleeps `after <interval_ms>` between samples. Printed:
%%   context_reductions <n>             the budget, as the runtime reports it
%%   context_switches_before <n>        erlang:statistics(context_switches), the whole node's
%%   sample <t_ms> <busy_reds> <idle_reds>   every interval_ms until duration_ms: the busy
%%       count (erlang:process_info(Pid, reductions)) climbs by millions, the idle one by a few
%%       per wake-up, and the samples themselves arrive on time: main gets its turns too
%%   context_switches_after <n>         after the last sample: thousands more, one per budget
%%   idle_wakeups <n>                   the sleeper's turns during the run
%%   idle_longest_gap_ms <float>        its longest wait between two turns (1 ms asked)
%%   runtime <text>
%%
%% Usage: erl -noshell +S 1:1 -pa <dir> -run reductions main [duration_ms [interval_ms]]
%% Defaults: 50 and 5. Sources: OTP 25.2.3 (Debian bookworm's erlang 1:25.2.3+dfsg), the files
%% above; erlang:bump_reductions/1 in the erlang module's reference manual: "A context switch
%% is forced when the counter reaches the maximum number of reductions for a process (4000
%% reductions in Erlang/OTP 19.2 and later)".
-module(reductions).
-export([main/0, main/1]).

%% `-run reductions main` with no arguments calls main/0 (init's -run: no Args, arity 0)
main() -> main([]).

main(Args) ->
    {Duration, Interval} = case Args of
                               [] -> {50, 5};
                               [D] -> {list_to_integer(D), 5};
                               [D, I] -> {list_to_integer(D), list_to_integer(I)}
                           end,
    %% Printed first on purpose: the first io:format loads the modules io and io_lib_format
    %% (code:all_loaded/0 before and after says so). Loading beside the busy process took
    %% ~60 ms here, which would have delayed the first sample for a reason unrelated to
    %% the scheduler's fairness.
    io:format("context_reductions ~p~n", [erlang:system_info(context_reductions)]),
    T0 = erlang:monotonic_time(nanosecond),
    {CsBefore, 0} = erlang:statistics(context_switches),
    io:format("context_switches_before ~p~n", [CsBefore]),
    Idle = spawn(fun() -> idle(T0, 0, 0.0, ms(T0)) end),
    Busy = spawn(fun() -> busy(0) end),
    sample(T0, Busy, Idle, Interval, Duration),
    {CsAfter, 0} = erlang:statistics(context_switches),
    exit(Busy, kill),
    Idle ! {stop, self()},
    receive {idle, Wakeups, Longest} -> ok end,
    io:format("context_switches_after ~p~n", [CsAfter]),
    io:format("idle_wakeups ~p~n", [Wakeups]),
    io:format("idle_longest_gap_ms ~.3f~n", [Longest]),
    io:format("runtime Erlang/OTP ~s erts-~s, ~p scheduler(s), emulator ~p~n",
              [erlang:system_info(otp_release), erlang:system_info(version),
               erlang:system_info(schedulers_online), erlang:system_info(emu_flavor)]),
    erlang:halt(0).

ms(T0) ->
    (erlang:monotonic_time(nanosecond) - T0) / 1.0e6.

%% Never receives, never sleeps: only the reduction count takes the scheduler from it.
busy(N) ->
    busy(N + 1).

%% Sleeps 1 ms at a time; each wake-up is a turn it got despite the busy process.
idle(T0, Wakeups, Longest, Last) ->
    receive
        {stop, From} -> From ! {idle, Wakeups, Longest}
    after 1 ->
        Now = ms(T0),
        idle(T0, Wakeups + 1, max(Longest, Now - Last), Now)
    end.

%% t_ms counts from the spawns; the last sample is the first one at or after duration_ms
sample(T0, Busy, Idle, Interval, Until) ->
    T = ms(T0),
    %% process_info of another process reads its count as of its last schedule-out (p->reds
    %% += the reductions of that slice, erts_schedule): with one scheduler the busy process is
    %% never running while main runs, so its count is a whole number of 4000-reduction budgets
    {reductions, B} = erlang:process_info(Busy, reductions),
    {reductions, I} = erlang:process_info(Idle, reductions),
    io:format("sample ~.3f ~p ~p~n", [T, B, I]),
    case T < Until of
        true ->
            receive after Interval -> ok end,
            sample(T0, Busy, Idle, Interval, Until);
        false ->
            ok
    end.

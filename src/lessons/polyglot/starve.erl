%% starve: lesson 12's experiment 2 in Erlang. A heartbeat process (`receive after 1`, then a
%% beat) beside a hog process that spins on the clock for hog_ms: no receive, no I/O.
%%
%% With `erl +S 1:1` both share one scheduler thread, and yet the heartbeat goes on: BEAM
%% preempts by counting, not by a timer. Every function call (and BIF call) costs a reduction
%% (规约), a process is given a budget of CONTEXT_REDS = 4000 reductions each time it is
%% scheduled in (erts/emulator/beam/erl_vm.h, OTP 25), and when the budget is spent the emulator
%% puts it back in the run queue and the scheduler picks the next runnable process
%% (erts/emulator/beam/erl_process.c, erts_schedule). The hog's loop is a tail call, so it is
%% counted like any other code: it cannot opt out. A budget is well under a millisecond of
%% this loop, so the heartbeat keeps its pace through the hog (measured: beats a median 2 ms
%% apart with or without the hog, since `after 1` rounds up to the next millisecond tick; the
%% longest gap 3-8 ms).
%% Sources (OTP 25.2.3, Debian bookworm's erlang source package): erl_vm.h's CONTEXT_REDS; the
%% JIT's reduction check at every function entry (i_test_yield, jit/x86/ops.tab); and the
%% reference manual of erlang:bump_reductions/1: "A context switch is forced when the counter
%% reaches the maximum number of reductions for a process (4000 reductions in Erlang/OTP 19.2
%% and later)". (The efficiency guide's "Processes" chapter does not cover preemption.)
%%
%% Usage: erl -noshell +S 1:1 -pa <dir> -run starve main <hog_ms>
-module(starve).
-export([main/1]).

main([HogArg]) ->
    HogMs = to_number(HogArg),
    T0 = erlang:monotonic_time(nanosecond),
    Main = self(),
    Heart = spawn_link(fun() -> heartbeat(T0, Main, 0, never) end),
    receive twenty -> ok end,                 % the hog starts after 20 beats
    Hog = spawn_link(fun() -> hog(T0, HogMs, Main) end),
    receive {hog_done, Hog} -> ok end,
    Heart ! {stop_after, 20},                 % 20 more beats, then the heartbeat says so
    receive {heart_done, Heart} -> ok end,
    io:format("runtime Erlang/OTP ~s erts-~s, processes, schedulers ~p~n",
              [erlang:system_info(otp_release), erlang:system_info(version),
               erlang:system_info(schedulers_online)]),
    erlang:halt(0);
main(_) ->
    io:format(standard_error, "usage: starve <hog_ms>~n", []),
    erlang:halt(2).

to_number(S) ->
    try list_to_float(S) catch error:badarg -> float(list_to_integer(S)) end.

ms(T0) ->
    (erlang:monotonic_time(nanosecond) - T0) / 1.0e6.

%% Stop is the beat count to stop at (never until the main process sends stop_after).
heartbeat(T0, Main, Count, Stop) ->
    receive
        {stop_after, More} -> heartbeat(T0, Main, Count, Count + More)
    after 1 ->
        io:format("beat ~.3f~n", [ms(T0)]),   % io:format waits for the io server: written
        N = Count + 1,
        N =:= 20 andalso (Main ! twenty),
        case Stop of
            never -> heartbeat(T0, Main, N, Stop);
            _ when N >= Stop -> Main ! {heart_done, self()};
            _ -> heartbeat(T0, Main, N, Stop)
        end
    end.

hog(T0, HogMs, Main) ->
    Start = ms(T0),
    io:format("hog_start ~.3f~n", [Start]),
    spin(T0, Start + HogMs, 0),
    io:format("hog_end ~.3f~n", [ms(T0)]),
    Main ! {hog_done, self()}.

%% Only a clock read and an add; each iteration is a call (reductions) and a BIF call.
spin(T0, Until, X) ->
    case ms(T0) < Until of
        true -> spin(T0, Until, X + 1);
        false -> X
    end.

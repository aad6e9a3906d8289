%% pipeline: lesson 12's experiment 1 in Erlang. A producer and a consumer, two BEAM processes
%% (独立进程: own heap, no shared memory), joined by messages: the item one way, the ack back, so
%% the producer waits for the consumer and the trace is forced.
%%
%% Run with `erl +S 1:1` (polyglot.py does): one scheduler thread, so a hand-off is the
%% scheduler taking the receiver off its wait (the message copied into its mailbox makes it
%% runnable) and running it on the same thread when the sender blocks in its own receive; no OS
%% thread switch. A process that waits in `receive` with no matching message is scheduled out
%% at once; it does not wait for its reduction budget (CONTEXT_REDS, 4000, in
%% erts/emulator/beam/erl_vm.h, OTP 25) to run out, so each hand-off is one switch.
%% Sources: OTP 25 erts/emulator/beam/erl_process.c (erts_schedule), erl_message.c
%% (erts_queue_message: a message to a waiting process makes it runnable); erl_vm.h
%% (CONTEXT_REDS).
%%
%% Usage: erl -noshell +S 1:1 -pa <dir> -run pipeline main <trace_n> <timed_n>
-module(pipeline).
-export([main/1]).

main([TraceArg, TimedArg]) ->
    TraceN = list_to_integer(TraceArg),
    TimedN = list_to_integer(TimedArg),
    round_trips(TraceN, true),
    T0 = erlang:monotonic_time(nanosecond),
    round_trips(TimedN, false),
    Elapsed = erlang:monotonic_time(nanosecond) - T0,
    io:format("handoff_ns ~.1f~n", [Elapsed / (2 * max(TimedN, 1))]),
    io:format("runtime Erlang/OTP ~s erts-~s, processes and messages, schedulers ~p~n",
              [erlang:system_info(otp_release), erlang:system_info(version),
               erlang:system_info(schedulers_online)]),
    erlang:halt(0);
main(_) ->
    io:format(standard_error, "usage: pipeline <trace_n> <timed_n>~n", []),
    erlang:halt(2).

%% The caller is the producer; the consumer is spawned for each run and told to stop at the end.
round_trips(N, Record) ->
    Producer = self(),
    Consumer = spawn_link(fun() -> consume(Producer, Record) end),
    produce(0, N, Consumer, Record),
    Consumer ! stop,
    receive {stopped, Consumer} -> ok end.

produce(N, N, _Consumer, _Record) ->
    ok;
produce(I, N, Consumer, Record) ->
    %% io:format is a request to the io server with a reply, so "produce I" is written
    %% before the item is sent and before the consumer can print "consume I"
    Record andalso io:format("produce ~p~n", [I]),
    Consumer ! {item, I},
    receive {ack, I} -> ok end,             % the next item only after this one was seen
    produce(I + 1, N, Consumer, Record).

consume(Producer, Record) ->
    receive
        {item, I} ->
            Record andalso io:format("consume ~p~n", [I]),
            Producer ! {ack, I},
            consume(Producer, Record);
        stop ->
            Producer ! {stopped, self()}
    end.

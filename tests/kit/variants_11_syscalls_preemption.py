"""Alternative correct and plausible wrong solutions of lesson 11's tasks (11.1-11.3).

tests/kit/test_variants_11_syscalls_preemption.py grades each against
tests/test_11_syscalls_preemption.py: every alternative must pass every test of its task, and
every wrong one must fail, with the tests named here (those of the rule it breaks) among the
failures. Each wrong solution is a second correct solution (the *_REF sources, written the way
Go's code reads, not copied from solutions/) with exactly one rule broken.

Each entry: (name, task file, source text, None for "correct" or the set of tests that must fail).
"""

from variant_grading import changed

# ---------------------------------------------------------------- 11.1 sysmon_delays

# Go's loop, line for line.
SYSMON_REF = '''
def sysmon_delays(retook):
    if not isinstance(retook, list) or not all(isinstance(r, bool) for r in retook):
        raise TypeError("retook: a list of bools")
    idle, delay, out = 0, 0, []
    for r in retook:
        if idle == 0:
            delay = 20
        elif idle > 50:
            delay *= 2
        if delay > 10000:
            delay = 10000
        out.append(delay)
        if r:
            idle = 0
        else:
            idle += 1
    return out


def sysmon_sleep(idle):
    if isinstance(idle, bool) or not isinstance(idle, int):
        raise TypeError("idle: an int")
    if idle < 0:
        raise ValueError("idle cannot be negative")
    if idle <= 50:
        return 20
    return min(10000, 20 * 2 ** min(idle - 50, 10))
'''

# The state is one counter: each round's delay is sysmon_sleep of the idle run before it, and
# sysmon_sleep simulates at most ten doublings.
SYSMON_ALT = '''
def sysmon_sleep(idle):
    if type(idle) is not int:
        raise TypeError("idle must be an int")
    if idle < 0:
        raise ValueError("idle must be >= 0")
    delay = 20
    for _ in range(min(idle, 60) - 50):      # an empty range up to idle 50
        delay = min(2 * delay, 10_000)
    return delay


def sysmon_delays(retook):
    if not isinstance(retook, list):
        raise TypeError("retook must be a list")
    for r in retook:
        if r is not True and r is not False:
            raise TypeError("each round is True or False")
    out, run = [], 0
    for r in retook:
        out.append(sysmon_sleep(run))
        run = 0 if r else run + 1
    return out
'''

SYSMON_WRONG = {
    "doubles_from_idle_50": (changed(SYSMON_REF, [("elif idle > 50:", "elif idle >= 50:")]),
                             {"test_doubling_starts_after_50_idle_rounds"}),
    "no_cap": (changed(SYSMON_REF, [("        if delay > 10000:\n            delay = 10000\n", "")]),
               {"test_the_sleep_is_capped_at_10ms"}),
    "cap_before_doubling": (changed(SYSMON_REF, [
        ("        if idle == 0:\n", "        if delay > 10000:\n            delay = 10000\n        if idle == 0:\n"),
        ("            delay *= 2\n        if delay > 10000:\n            delay = 10000\n", "            delay *= 2\n")]),
        {"test_the_sleep_is_capped_at_10ms"}),
    "never_resets_idle": (changed(SYSMON_REF, [("        if r:\n            idle = 0\n        else:\n            idle += 1\n",
                                                "        if not r:\n            idle += 1\n")]),
                          {"test_a_retake_resets_the_schedule"}),
    "resets_delay_not_idle": (changed(SYSMON_REF, [("        if r:\n            idle = 0\n        else:\n            idle += 1\n",
                                                    "        if r:\n            delay = 20\n        idle += 0 if r else 1\n")]),
                              {"test_a_retake_resets_the_schedule"}),
    # The round's own result decides its sleep: retake before usleep.
    "counts_its_own_round": (changed(SYSMON_REF, [
        ("        out.append(delay)\n        if r:\n            idle = 0\n        else:\n            idle += 1\n",
         "        out.append(delay)\n"),
        ("    for r in retook:\n", "    for r in retook:\n        if r:\n            idle = 0\n        else:\n            idle += 1\n")]),
        {"test_a_retake_resets_the_schedule"}),
    "ints_count_as_bools": (changed(SYSMON_REF, [("all(isinstance(r, bool) for r in retook)",
                                                  "all(isinstance(r, int) for r in retook)")]),
                            {"test_bad_retook_raises_type_error"}),
    "any_iterable": (changed(SYSMON_REF, [("    if not isinstance(retook, list) or not all(",
                                           "    retook = list(retook)\n    if not all(")]),
                     {"test_bad_retook_raises_type_error"}),
    "sleep_doubles_from_50": (changed(SYSMON_REF, [("    if idle <= 50:\n        return 20\n    return min(10000, 20 * 2 ** min(idle - 50, 10))",
                                                    "    if idle < 50:\n        return 20\n    return min(10000, 20 * 2 ** min(idle - 49, 10))")]),
                              {"test_sysmon_sleep_depends_on_idle_alone"}),
    "sleep_uncapped": (changed(SYSMON_REF, [("    return min(10000, 20 * 2 ** min(idle - 50, 10))",
                                             "    return 20 * 2 ** (idle - 50)")]),
                       {"test_sysmon_sleep_depends_on_idle_alone"}),
    "sleep_bool_is_an_int": (changed(SYSMON_REF, [("    if isinstance(idle, bool) or not isinstance(idle, int):",
                                                   "    if not isinstance(idle, int):")]),
                             {"test_bad_idle_raises"}),
    "sleep_negative_is_busy": (changed(SYSMON_REF, [("    if idle < 0:\n        raise ValueError(\"idle cannot be negative\")\n", "")]),
                               {"test_bad_idle_raises"}),
}

# ---------------------------------------------------------------- 11.2 retake

RETAKE_REF = '''
FORCE = 10 * 1000 * 1000


def retake_decision(p, seen, now, nmspinning, npidle):
    if p["status"] not in ("idle", "running", "gcstop", "dead"):
        raise ValueError("bad status")
    if nmspinning < 0 or npidle < 0:
        raise ValueError("negative count")
    pd = dict(seen)
    if p["status"] != "running":
        return "none", pd
    sysretake = False
    if pd["schedtick"] != p["schedtick"]:
        pd["schedtick"] = p["schedtick"]
        pd["schedwhen"] = now
    elif pd["schedwhen"] + FORCE <= now:
        sysretake = True
    if not p["in_syscall"]:
        if sysretake:
            return "preempt", pd
        return "none", pd
    if not sysretake and pd["syscalltick"] != p["syscalltick"]:
        pd["syscalltick"] = p["syscalltick"]
        pd["syscallwhen"] = now
        return "none", pd
    if p["runq_empty"] and nmspinning + npidle > 0 and pd["syscallwhen"] + FORCE > now:
        return "none", pd
    return "handoff", pd
'''

# Durations instead of deadlines, dict.update, a deep copy, a tuple built at the end.
RETAKE_ALT = '''
import copy

SLICE = 10_000_000


def retake_decision(p, seen, now, nmspinning, npidle):
    status = p["status"]
    if status not in {"idle", "running", "gcstop", "dead"}:
        raise ValueError(f"status {status!r}")
    if min(nmspinning, npidle) < 0:
        raise ValueError("counts cannot be negative")
    record = copy.deepcopy(seen)
    action = "none"
    if status == "running":
        same_g = p["schedtick"] == seen["schedtick"]
        overdue = same_g and now - seen["schedwhen"] >= SLICE
        if not same_g:
            record.update(schedtick=p["schedtick"], schedwhen=now)
        if not p["in_syscall"]:
            action = "preempt" if overdue else "none"
        elif not overdue and p["syscalltick"] != seen["syscalltick"]:
            record.update(syscalltick=p["syscalltick"], syscallwhen=now)
        else:
            waiting_is_fine = p["runq_empty"] and nmspinning + npidle > 0 and now - seen["syscallwhen"] < SLICE
            action = "none" if waiting_is_fine else "handoff"
    return (action, record)
'''

RETAKE_WRONG = {
    "looks_at_every_p": (changed(RETAKE_REF, [("    if p[\"status\"] != \"running\":\n        return \"none\", pd\n", "")]),
                         {"test_only_running_ps_are_looked_at"}),
    # Go 1.24's vocabulary: a P in a syscall has its own status.
    "accepts_a_syscall_status": (changed(RETAKE_REF, [("(\"idle\", \"running\", \"gcstop\", \"dead\")",
                                                       "(\"idle\", \"running\", \"syscall\", \"gcstop\", \"dead\")"),
                                                      ("if p[\"status\"] != \"running\":",
                                                       "if p[\"status\"] not in (\"running\", \"syscall\"):")]),
                                 {"test_bad_input_raises_value_error"}),
    "schedwhen_not_updated": (changed(RETAKE_REF, [("        pd[\"schedwhen\"] = now\n", "")]),
                              {"test_a_new_schedtick_is_recorded"}),
    "only_a_greater_schedtick": (changed(RETAKE_REF, [("if pd[\"schedtick\"] != p[\"schedtick\"]:",
                                                       "if p[\"schedtick\"] > pd[\"schedtick\"]:")]),
                                 {"test_a_new_schedtick_is_recorded"}),
    "preempts_despite_a_new_schedtick": (changed(RETAKE_REF, [("    elif pd[\"schedwhen\"] + FORCE <= now:",
                                                               "    if seen[\"schedwhen\"] + FORCE <= now:")]),
                                         {"test_a_new_schedtick_is_recorded"}),
    "slice_is_strict": (changed(RETAKE_REF, [("    elif pd[\"schedwhen\"] + FORCE <= now:",
                                              "    elif pd[\"schedwhen\"] + FORCE < now:")]),
                        {"test_a_goroutine_past_its_slice_is_preempted"}),
    "preempt_restarts_the_slice": (changed(RETAKE_REF, [("        sysretake = True\n",
                                                         "        sysretake = True\n        pd[\"schedwhen\"] = now\n")]),
                                   {"test_a_goroutine_past_its_slice_is_preempted"}),
    "hands_off_go_code": (changed(RETAKE_REF, [("    if not p[\"in_syscall\"]:\n        if sysretake:\n            return \"preempt\", pd\n        return \"none\", pd\n",
                                                "    if not p[\"in_syscall\"] and sysretake:\n        return \"preempt\", pd\n")]),
                          {"test_go_code_keeps_its_p"}),
    "records_the_syscalltick_of_go_code": (changed(RETAKE_REF, [("    if not p[\"in_syscall\"]:\n        if sysretake:",
                                                                 "    if not p[\"in_syscall\"]:\n"
                                                                 "        if pd[\"syscalltick\"] != p[\"syscalltick\"]:\n"
                                                                 "            pd[\"syscalltick\"], pd[\"syscallwhen\"] = p[\"syscalltick\"], now\n"
                                                                 "        if sysretake:")]),
                                           {"test_go_code_keeps_its_p"}),
    "no_syscall_record": (changed(RETAKE_REF, [("    if not sysretake and pd[\"syscalltick\"] != p[\"syscalltick\"]:\n"
                                                "        pd[\"syscalltick\"] = p[\"syscalltick\"]\n"
                                                "        pd[\"syscallwhen\"] = now\n        return \"none\", pd\n", "")]),
                          {"test_a_new_syscalltick_is_recorded"}),
    "syscall_record_despite_sysretake": (changed(RETAKE_REF, [("    if not sysretake and pd[\"syscalltick\"]",
                                                               "    if pd[\"syscalltick\"]")]),
                                         {"test_past_its_slice_in_a_syscall_means_handoff"}),
    "preempts_a_syscall": (changed(RETAKE_REF, [("    if not p[\"in_syscall\"]:\n        if sysretake:",
                                                 "    if sysretake:\n        return \"preempt\", pd\n"
                                                 "    if not p[\"in_syscall\"]:\n        if sysretake:")]),
                           {"test_past_its_slice_in_a_syscall_means_handoff"}),
    "sysretake_skips_the_run_queue_rule": (changed(RETAKE_REF, [("    if p[\"runq_empty\"] and nmspinning",
                                                                 "    if not sysretake and p[\"runq_empty\"] and nmspinning")]),
                                           {"test_past_its_slice_in_a_syscall_means_handoff"}),
    "needs_spinning_and_idle": (changed(RETAKE_REF, [("nmspinning + npidle > 0", "nmspinning > 0 and npidle > 0")]),
                                {"test_spare_capacity_delays_the_handoff_10ms"}),
    "ignores_the_run_queue": (changed(RETAKE_REF, [("    if p[\"runq_empty\"] and nmspinning", "    if nmspinning")]),
                              {"test_a_p_stuck_in_a_syscall_is_handed_off"}),
    "waits_10ms_inclusive": (changed(RETAKE_REF, [("pd[\"syscallwhen\"] + FORCE > now", "pd[\"syscallwhen\"] + FORCE >= now")]),
                             {"test_spare_capacity_delays_the_handoff_10ms"}),
    "waits_on_schedwhen": (changed(RETAKE_REF, [("pd[\"syscallwhen\"] + FORCE > now", "pd[\"schedwhen\"] + FORCE > now")]),
                           {"test_spare_capacity_delays_the_handoff_10ms"}),
    "updates_seen_in_place": (changed(RETAKE_REF, [("    pd = dict(seen)\n", "    pd = seen\n")]),
                              {"test_the_arguments_are_left_alone"}),
    "negative_counts_accepted": (changed(RETAKE_REF, [("    if nmspinning < 0 or npidle < 0:\n        raise ValueError(\"negative count\")\n", "")]),
                                 {"test_bad_input_raises_value_error"}),
}

# ---------------------------------------------------------------- 11.3 syscall_exit

EXIT_REF = '''
import math
import re


def exitsyscall_path(old_p, idle_ps):
    if old_p not in ("ours", "syscall", "running", "idle", "gcstop", None):
        raise ValueError("old_p")
    if idle_ps < 0:
        raise ValueError("idle_ps")
    if old_p == "idle" and idle_ps == 0:
        raise ValueError("an idle old P is on the idle list")
    if old_p == "ours":
        return "fast"
    if old_p == "syscall":
        return "old-p"
    if idle_ps > 0:
        return "idle-p"
    return "no-p"


def default_gomaxprocs(ncpu, quota_us=None, period_us=None):
    if ncpu < 1:
        raise ValueError("ncpu")
    if quota_us is None or quota_us == "max":
        return ncpu
    if isinstance(quota_us, str):
        raise ValueError("quota")
    if quota_us < 0:
        return ncpu
    if not isinstance(period_us, int) or period_us <= 0:
        raise ValueError("period")
    limit = math.ceil(quota_us / period_us)
    limit = max(limit, 2)
    return min(ncpu, limit)


def startup_gomaxprocs(env, ncpu, quota_us=None, period_us=None):
    if env is not None and not isinstance(env, str):
        raise TypeError("env")
    if env is not None and re.fullmatch(r"[+-]?[0-9]+", env):
        n = int(env)
        if 0 < n < 2**31:
            return n
    return default_gomaxprocs(ncpu, quota_us, period_us)
'''

# A lookup table; the ceiling in integers; strconv.ParseInt written out digit by digit, with
# the overflow check of internal/strconv (ParseUint stops at the first digit past the cutoff).
EXIT_ALT = '''
NEXT = {"ours": "fast", "syscall": "old-p", "running": None, "idle": None, "gcstop": None, None: None}


def exitsyscall_path(old_p, idle_ps):
    if not isinstance(old_p, (str, type(None))) or old_p not in NEXT:
        raise ValueError(f"old_p {old_p!r}")
    if idle_ps < 0 or (old_p == "idle" and not idle_ps):
        raise ValueError(f"idle_ps {idle_ps}")
    return NEXT[old_p] or ("idle-p" if idle_ps else "no-p")


def default_gomaxprocs(ncpu, quota_us=None, period_us=None):
    if not ncpu >= 1:
        raise ValueError("ncpu >= 1")
    unlimited = quota_us is None or quota_us == "max" or (not isinstance(quota_us, str) and quota_us < 0)
    if unlimited:
        return ncpu
    if isinstance(quota_us, str) or isinstance(period_us, bool) or not isinstance(period_us, int) or period_us < 1:
        raise ValueError("quota needs a period")
    limit = max(2, (quota_us + period_us - 1) // period_us)
    return ncpu if limit >= ncpu else limit


def parse_int32(s):
    """strconv.ParseInt(s, 10, 32): the value, or None for ErrSyntax and ErrRange."""
    if not s:
        return None
    neg = s[0] == "-"
    if s[0] in "+-":
        s = s[1:]
    if not s:
        return None
    value = 0
    for c in s:
        if not "0" <= c <= "9":
            return None
        value = value * 10 + (ord(c) - ord("0"))
        if value > 2**31:
            return None
    if neg:
        value = -value
    return value if -2**31 <= value <= 2**31 - 1 else None


def startup_gomaxprocs(env, ncpu, quota_us=None, period_us=None):
    if env is None:
        return default_gomaxprocs(ncpu, quota_us, period_us)
    if type(env) is not str:
        raise TypeError("GOMAXPROCS is text")
    n = parse_int32(env)
    return n if n is not None and n > 0 else default_gomaxprocs(ncpu, quota_us, period_us)
'''

EXIT_WRONG = {
    "takes_back_an_idle_old_p": (changed(EXIT_REF, [("    if old_p == \"syscall\":", "    if old_p in (\"syscall\", \"idle\"):")]),
                                 {"test_the_old_p_comes_back_only_from_a_syscall"}),
    "steals_from_go_code": (changed(EXIT_REF, [("    if old_p == \"syscall\":", "    if old_p in (\"syscall\", \"running\"):")]),
                            {"test_the_old_p_comes_back_only_from_a_syscall"}),
    "idle_p_before_old_p": (changed(EXIT_REF, [("    if old_p == \"syscall\":\n        return \"old-p\"\n    if idle_ps > 0:\n        return \"idle-p\"\n",
                                                "    if idle_ps > 0:\n        return \"idle-p\"\n    if old_p == \"syscall\":\n        return \"old-p\"\n")]),
                            {"test_the_old_p_comes_back_only_from_a_syscall"}),
    "no_idle_p_path": (changed(EXIT_REF, [("    if idle_ps > 0:\n        return \"idle-p\"\n", "")]),
                       {"test_then_any_idle_p_else_the_global_queue"}),
    "fast_only_without_idle_ps": (changed(EXIT_REF, [("    if old_p == \"ours\":", "    if old_p == \"ours\" and idle_ps == 0:")]),
                                  {"test_a_p_nobody_took_is_kept"}),
    "uncounted_idle_old_p_accepted": (changed(EXIT_REF, [("    if old_p == \"idle\" and idle_ps == 0:\n        raise ValueError(\"an idle old P is on the idle list\")\n", "")]),
                                      {"test_exitsyscall_bad_input_raises"}),
    "floor_of_the_quota": (changed(EXIT_REF, [("math.ceil(quota_us / period_us)", "quota_us // period_us")]),
                           {"test_the_quota_is_rounded_up_to_at_least_2"}),
    "nearest_cpu": (changed(EXIT_REF, [("math.ceil(quota_us / period_us)", "round(quota_us / period_us)")]),
                    {"test_the_quota_is_rounded_up_to_at_least_2"}),
    "always_one_more": (changed(EXIT_REF, [("math.ceil(quota_us / period_us)", "quota_us // period_us + 1")]),
                        {"test_the_quota_is_rounded_up_to_at_least_2"}),
    "no_floor_of_2": (changed(EXIT_REF, [("    limit = max(limit, 2)\n", "")]),
                      {"test_the_quota_is_rounded_up_to_at_least_2"}),
    "floor_of_2_above_the_cpus": (changed(EXIT_REF, [("    limit = max(limit, 2)\n    return min(ncpu, limit)",
                                                      "    return max(min(ncpu, limit), 2)")]),
                                  {"test_the_cpu_count_caps_the_limit"}),
    "quota_ignores_the_cpus": (changed(EXIT_REF, [("    return min(ncpu, limit)", "    return limit")]),
                               {"test_the_cpu_count_caps_the_limit"}),
    "minus_one_is_a_limit": (changed(EXIT_REF, [("    if quota_us < 0:\n        return ncpu\n", "")]),
                             {"test_without_a_limit_the_default_is_the_cpu_count"}),
    "max_not_understood": (changed(EXIT_REF, [("if quota_us is None or quota_us == \"max\":", "if quota_us is None:")]),
                           {"test_without_a_limit_the_default_is_the_cpu_count"}),
    "assumes_the_default_period": (changed(EXIT_REF, [("        raise ValueError(\"period\")", "        period_us = 100000")]),
                                   {"test_default_gomaxprocs_bad_input_raises"}),
    "numeric_string_quota": (changed(EXIT_REF, [("        raise ValueError(\"quota\")", "        quota_us = int(quota_us)")]),
                             {"test_default_gomaxprocs_bad_input_raises"}),
    "zero_cpus_accepted": (changed(EXIT_REF, [("    if ncpu < 1:\n        raise ValueError(\"ncpu\")\n", "")]),
                           {"test_default_gomaxprocs_bad_input_raises"}),
    "env_read_by_python_int": (changed(EXIT_REF, [("    if env is not None and re.fullmatch(r\"[+-]?[0-9]+\", env):\n        n = int(env)\n",
                                                   "    if env is not None:\n        try:\n            n = int(env)\n"
                                                   "        except ValueError:\n            n = 0\n")]),
                               {"test_the_variable_is_parsed_like_go"}),
    "env_digits_by_backslash_d": (changed(EXIT_REF, [("r\"[+-]?[0-9]+\"", "r\"[+-]?\\d+\"")]),
                                  {"test_the_variable_is_parsed_like_go"}),
    "env_without_int32_range": (changed(EXIT_REF, [("        if 0 < n < 2**31:", "        if 0 < n:")]),
                                {"test_the_variable_is_parsed_like_go"}),
    # Go 1.24's atoi32 took no "+".
    "env_without_plus": (changed(EXIT_REF, [("r\"[+-]?[0-9]+\"", "r\"-?[0-9]+\"")]),
                         {"test_a_positive_gomaxprocs_variable_wins"}),
    "env_capped_at_the_cpus": (changed(EXIT_REF, [("            return n\n", "            return min(n, ncpu)\n")]),
                               {"test_a_positive_gomaxprocs_variable_wins"}),
    "env_zero_accepted": (changed(EXIT_REF, [("        if 0 < n < 2**31:", "        if 0 <= n < 2**31:")]),
                          {"test_zero_negative_or_unset_means_the_default"}),
    "env_number_accepted": (changed(EXIT_REF, [("    if env is not None and not isinstance(env, str):\n        raise TypeError(\"env\")\n",
                                                "    if env is not None and not isinstance(env, str):\n        env = str(env)\n")]),
                            {"test_zero_negative_or_unset_means_the_default"}),
}

VARIANTS = (
    [("alt_one_counter", "sysmon_delays.py", SYSMON_ALT, None), ("ref_go_loop", "sysmon_delays.py", SYSMON_REF, None)]
    + [(n, "sysmon_delays.py", src, must) for n, (src, must) in SYSMON_WRONG.items()]
    + [("alt_durations", "retake.py", RETAKE_ALT, None), ("ref_go_shape", "retake.py", RETAKE_REF, None)]
    + [(n, "retake.py", src, must) for n, (src, must) in RETAKE_WRONG.items()]
    + [("alt_table_and_parser", "syscall_exit.py", EXIT_ALT, None), ("ref_regex", "syscall_exit.py", EXIT_REF, None)]
    + [(n, "syscall_exit.py", src, must) for n, (src, must) in EXIT_WRONG.items()]
)

"""Task 02.3: transfers between accounts, one lock per account, and no deadlock (死锁).

A transfer from a to b must change both balances as one step for every other thread, so
it holds the locks of both accounts. Take them in the order the call names them and two
opposite transfers can deadlock: transfer("a", "b", ...) holds a's lock and waits for b's,
while transfer("b", "a", ...) holds b's lock and waits for a's - forever. The GIL does not
help: it is released while a thread waits for a lock.

The cure is lock ordering (锁排序): every thread takes the locks in one global order (here
by account name), so no cycle of waits can form. One lock per account, rather than one
lock for the whole bank, keeps transfers between other accounts free to run meanwhile.
"""

import threading


class Bank:
    """Accounts (name -> balance in whole units) that threads may transfer between."""

    def __init__(self, balances: dict[str, int], lock_factory=threading.Lock):
        """Open the accounts of `balances` (each balance an int >= 0, else ValueError).

        Each account gets its own lock, made by calling `lock_factory()` once per account
        (threading.Lock by default; the tests pass a lock that lets them steer threads).
        """
        ### BEGIN SOLUTION
        if any(not isinstance(b, int) or b < 0 for b in balances.values()):
            raise ValueError("balances must be whole numbers >= 0")
        self._balances = dict(balances)
        self._locks = {name: lock_factory() for name in balances}
        ### END SOLUTION

    def transfer(self, source: str, target: str, amount: int) -> None:
        """Move `amount` from account `source` to account `target`, as one step: no thread
        ever sees the money in both accounts or in neither.

        - Never deadlocks, whatever transfers other threads run at the same time: it holds
          exactly the locks of its two accounts, taken in order of account name (the
          smaller name first) whatever the direction, and releases both when it returns
          or raises.
        - Raises KeyError for an unknown account, ValueError if source == target, if
          amount is not an int > 0, or if source holds less than amount. A refused
          transfer changes nothing. The balance is checked while both locks are held:
          checked before, another transfer could empty the account in between.
        """
        ### BEGIN SOLUTION
        if source not in self._balances or target not in self._balances:
            raise KeyError(source if source not in self._balances else target)
        if source == target:
            raise ValueError(f"cannot transfer from {source!r} to itself")
        if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
            raise ValueError(f"amount must be a whole number > 0, got {amount!r}")
        first, second = sorted((source, target))    # one global order: no cycle of waits
        with self._locks[first], self._locks[second]:
            if self._balances[source] < amount:
                raise ValueError(f"{source!r} holds {self._balances[source]}, cannot send {amount}")
            self._balances[source] -= amount
            self._balances[target] += amount
        ### END SOLUTION

    def balances(self) -> dict[str, int]:
        """A consistent snapshot of every balance: it holds every account's lock (in the same
        order as transfer) while it reads, so no transfer is half seen."""
        ### BEGIN SOLUTION
        names = sorted(self._balances)
        for name in names:
            self._locks[name].acquire()
        try:
            return dict(self._balances)
        finally:
            for name in reversed(names):
                self._locks[name].release()
        ### END SOLUTION

"""Task 07.2 (bug hunt): a bank transfer that loses money at an await.

The seed says coroutines need no locks: "在协程中控制共享资源不加锁，只需要判断状态就好了" ("with
coroutines you control shared resources without locks, you only need to check the state").
Between two awaits that is true - no other coroutine runs - but every await is a point where
the loop may run any other ready task. transfer()
below checks the balance, awaits the audit, and then moves the money: 50 concurrent transfers
of 10 from an account holding 100 all pass the check before any of them debits.
Find the lost update and fix it with the lock you are given.

async def transfer(bank, src, dst, amount, lock)
  `bank.balances` is a dict of account name -> int; `await bank.audit(src, dst, amount)`
  records the transfer with the auditors (it awaits: think of a database call); `lock` is one
  asyncio.Lock shared by every transfer on this bank. Rules, each one checked:
  1. If bank.balances[src] < amount, raise InsufficientFunds (defined below) and change
     nothing. Otherwise move the money: src loses `amount`, dst gains it. Whatever the
     interleaving, money is neither created nor lost: 50 concurrent transfers of 10 from
     A = 100 to B = 0 give exactly 10 successes and 40 InsufficientFunds, A == 0, B == 100.
  2. Every successful transfer awaits bank.audit(src, dst, amount) exactly once, after the
     check and before the money moves; a transfer that raises InsufficientFunds is not
     audited. (Dropping the await is not a fix: the audit must really run.)
  3. While a transfer's audit runs, no other transfer checks or moves money: the auditors see
     the bank exactly as it was when the balance was checked.
  4. If the audit raises, transfer raises that same exception and moves no money, and the
     other transfers go on (the lock is released whatever happens).
"""

import asyncio


class InsufficientFunds(Exception):
    """The source account holds less than the amount to transfer."""


async def transfer(bank, src, dst, amount, lock):
    ### BEGIN SOLUTION 07.2
    async with lock:        # check, audit and update form one step: no other transfer in between
        if bank.balances[src] < amount:
            raise InsufficientFunds(f"{src} holds {bank.balances[src]}, cannot send {amount}")
        await bank.audit(src, dst, amount)
        bank.balances[src] -= amount
        bank.balances[dst] += amount
    ### END SOLUTION
    ### BEGIN STUB
    # if bank.balances[src] < amount:
    #     raise InsufficientFunds(f"{src} holds {bank.balances[src]}, cannot send {amount}")
    # await bank.audit(src, dst, amount)       # other transfers run here
    # bank.balances[src] -= amount
    # bank.balances[dst] += amount
    ### END STUB

/*
 * The engine's threading policy: threads only where they pay, on a machine
 * that other processes and other Python threads share.
 *
 * Three parts, each usable on its own from the engine's minibatch:
 *
 * - A process-wide budget. Every call into the engine that runs a parallel
 *   region first acquires threads from it (its own calling thread counts), so
 *   that two Python threads calling the engine at once on a 2-CPU machine run
 *   2 threads in all, not 2 each. Helpers check it again before each chunk
 *   they take and leave when the process is crowded (more threads in use than
 *   the budget): the calling thread finishes the remaining chunks.
 * - Chunk claiming: a chunk goes to whichever thread asks next (an atomic
 *   counter), so a thread that another process slows takes fewer. Each chunk
 *   writes its own results, summed in chunk order, so who runs which chunk
 *   leaves them bit-identical.
 * - An adaptive choice per fit: a fit times its first minibatches serially
 *   and in parallel (seconds per floating-point operation, monotonic clock)
 *   and keeps the faster, running the other kind again now and then in case
 *   the machine's load has changed. Each kind runs at least twice in a row
 *   and its first minibatch after the other kind is not timed: it pays for
 *   waking the helper threads, which a run of parallel minibatches does not. On a busy machine (another process on
 *   the cores) a parallel minibatch waits for a thread the OS has descheduled
 *   and the choice falls to serial; on an idle machine it stays parallel.
 *   Serial and parallel minibatches give bit-identical results.
 */
#ifndef SKLSTM_THREADS_H
#define SKLSTM_THREADS_H

#include <stddef.h>

/* -- the process-wide budget ------------------------------------------- */

/* Threads the engine may run at once over all calls (at least 1); the
 * default is OpenMP's processor count, which the Python side replaces at
 * import by the CPUs this process may use (affinity, cgroup quotas). */
void sklstm_threads_set_budget(int n_threads);
int sklstm_threads_budget(void);

/* Reserve up to `wanted` threads, the calling thread included, and return
 * how many were granted: at least 1 (the caller runs anyway), at most what
 * the budget has left. Every acquire is followed by a release of the count
 * it returned. */
int sklstm_threads_acquire(int wanted);
void sklstm_threads_release(int granted);

/* Threads the engine's calls hold now. */
int sklstm_threads_in_use(void);

/* Whether the calls hold more threads than the budget: a helper thread then
 * takes no further chunk. */
int sklstm_threads_crowded(void);

/* The next unclaimed index of `*next` (atomic fetch-and-increment). */
ptrdiff_t sklstm_threads_claim(ptrdiff_t *next);

/* -- the adaptive choice ----------------------------------------------- */

enum sklstm_thread_mode {
    SKLSTM_THREADS_ADAPTIVE = 0,  /* time both, keep the faster (default) */
    SKLSTM_THREADS_PARALLEL = 1,  /* parallel wherever the work is large enough */
    SKLSTM_THREADS_SERIAL = 2     /* never parallel */
};

/* Process-wide mode (tests force PARALLEL so that they exercise threads);
 * the environment variable SKLSTM_THREADS (adaptive, parallel, serial) sets
 * it at the first call. Returns the mode in use afterwards. */
enum sklstm_thread_mode sklstm_threads_set_mode(enum sklstm_thread_mode mode);
enum sklstm_thread_mode sklstm_threads_mode(void);

/* A fit's measurements: one per fit, used by one call at a time. */
typedef struct {
    double cost[2];     /* seconds per flop, serial [0] and parallel [1]; a moving average */
    int timed[2];       /* minibatches of each kind in the averages */
    int previous;       /* the kind of the last minibatch, -1 before the first */
    int run;            /* minibatches of that kind in a row */
    int since_probe;    /* minibatches since the other kind last ran */
    double last_probe;  /* when it did (monotonic seconds) */
} sklstm_thread_policy;

void sklstm_policy_init(sklstm_thread_policy *policy);

/* Whether the next minibatch should run in parallel (NULL: yes, as far as the
 * policy goes; the budget and the work's size still decide). */
int sklstm_policy_parallel(const sklstm_thread_policy *policy);

/* Record a minibatch: whether it ran in parallel, its flops, its seconds. */
void sklstm_policy_record(sklstm_thread_policy *policy, int parallel, double flops,
                          double seconds);

/* Monotonic seconds. */
double sklstm_threads_now(void);

#endif

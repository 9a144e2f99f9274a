/* The engine's threading policy: see threads.h. */
#if !defined(_WIN32) && !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 199309L  /* clock_gettime under -std=c99 */
#endif
#include <stdlib.h>
#include <string.h>
#include "threads.h"

#ifdef _OPENMP
#include <omp.h>
#endif

#if defined(_WIN32)
#include <windows.h>
#else
#include <time.h>
#endif

/* GCC and clang's atomics; MSVC's interlocked functions. */
#if defined(_MSC_VER) && !defined(__clang__)
#include <intrin.h>
#define ATOMIC_ADD_INT(p, v) (_InterlockedExchangeAdd((volatile long *)(p), (long)(v)) + (v))
#define ATOMIC_LOAD_INT(p) (_InterlockedOr((volatile long *)(p), 0))
#define ATOMIC_CAS_INT(p, expected, desired) \
    (_InterlockedCompareExchange((volatile long *)(p), (long)(desired), (long)(expected)) \
     == (long)(expected))
#define ATOMIC_FETCH_ADD_PTRDIFF(p, v) _InterlockedExchangeAdd64((volatile __int64 *)(p), (v))
#else
#define ATOMIC_ADD_INT(p, v) __atomic_add_fetch((p), (v), __ATOMIC_ACQ_REL)
#define ATOMIC_LOAD_INT(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define ATOMIC_CAS_INT(p, expected, desired) \
    __extension__({ int e_ = (expected); \
        __atomic_compare_exchange_n((p), &e_, (desired), 0, __ATOMIC_ACQ_REL, \
                                    __ATOMIC_ACQUIRE); })
#define ATOMIC_FETCH_ADD_PTRDIFF(p, v) __atomic_fetch_add((p), (v), __ATOMIC_ACQ_REL)
#endif

/* Minibatches of a kind in a row, at least: the first after the other kind
 * is not timed. It pays for waking the helper threads (parallel) or for the
 * cache the helpers warmed (serial), and a run of parallel minibatches keeps
 * its threads awake between them (measured, small shape, 2 threads forced:
 * 3.4 ms an epoch when the helper slept between minibatches, 2.0 ms when it
 * stayed awake; serial 3.4 ms). */
#define POLICY_RUN 2
/* Timed minibatches of each kind before the first choice. */
#define POLICY_PROBES 2
/* Weight of a new timing in the moving average. */
#define POLICY_ALPHA 0.3
/* Parallel must be this much faster to be chosen: at equal speed, one thread
 * leaves a core to the rest of the machine. */
#define POLICY_GAIN 1.1
/* After the first choice the other kind runs one minibatch once at least
 * this many minibatches and seconds have passed: so a fit notices a machine
 * that has become busy or idle, at a cost of at most a few per cent (a
 * slower minibatch in every 16). */
#define POLICY_PROBE_EVERY 16
#define POLICY_PROBE_SECONDS 0.5

static int budget = 0;  /* 0 until set or first read */
static int in_use = 0;
static volatile int mode = -1;  /* -1 until the first call */

int sklstm_threads_budget(void)
{
    int n = ATOMIC_LOAD_INT(&budget);
    if (n > 0) return n;
#ifdef _OPENMP
    n = omp_get_num_procs();
#else
    n = 1;
#endif
    n = n > 0 ? n : 1;
    /* A race with set_budget keeps the value it stored. */
    ATOMIC_CAS_INT(&budget, 0, n);
    return ATOMIC_LOAD_INT(&budget);
}

void sklstm_threads_set_budget(int n_threads)
{
    int old = ATOMIC_LOAD_INT(&budget);
    int n = n_threads > 0 ? n_threads : 1;
    while (!ATOMIC_CAS_INT(&budget, old, n)) old = ATOMIC_LOAD_INT(&budget);
}

int sklstm_threads_acquire(int wanted)
{
    int cap = sklstm_threads_budget();
    for (;;) {
        int used = ATOMIC_LOAD_INT(&in_use);
        int granted = cap - used;
        if (granted > wanted) granted = wanted;
        if (granted < 1) granted = 1;
        if (ATOMIC_CAS_INT(&in_use, used, used + granted)) return granted;
    }
}

void sklstm_threads_release(int granted)
{
    ATOMIC_ADD_INT(&in_use, -granted);
}

int sklstm_threads_in_use(void)
{
    return ATOMIC_LOAD_INT(&in_use);
}

int sklstm_threads_crowded(void)
{
    return ATOMIC_LOAD_INT(&in_use) > sklstm_threads_budget();
}

ptrdiff_t sklstm_threads_claim(ptrdiff_t *next)
{
    return ATOMIC_FETCH_ADD_PTRDIFF(next, 1);
}

enum sklstm_thread_mode sklstm_threads_set_mode(enum sklstm_thread_mode new_mode)
{
    mode = (new_mode >= SKLSTM_THREADS_ADAPTIVE && new_mode <= SKLSTM_THREADS_SERIAL)
           ? (int)new_mode : SKLSTM_THREADS_ADAPTIVE;
    return (enum sklstm_thread_mode)mode;
}

enum sklstm_thread_mode sklstm_threads_mode(void)
{
    static const char *names[] = {"adaptive", "parallel", "serial"};
    if (mode >= 0) return (enum sklstm_thread_mode)mode;
    int chosen = SKLSTM_THREADS_ADAPTIVE;
    const char *forced = getenv("SKLSTM_THREADS");
    if (forced) {
        for (int k = 0; k < 3; k++) {
            if (strcmp(forced, names[k]) == 0) chosen = k;
        }
    }
    /* A race between two first calls is benign: both store the same value. */
    return sklstm_threads_set_mode((enum sklstm_thread_mode)chosen);
}

double sklstm_threads_now(void)
{
#if defined(_WIN32)
    LARGE_INTEGER count, frequency;
    QueryPerformanceCounter(&count);
    QueryPerformanceFrequency(&frequency);
    return (double)count.QuadPart / (double)frequency.QuadPart;
#else
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
#endif
}

void sklstm_policy_init(sklstm_thread_policy *policy)
{
    memset(policy, 0, sizeof(*policy));
    policy->previous = -1;
}

static int probing(const sklstm_thread_policy *policy)
{
    return policy->timed[0] < POLICY_PROBES || policy->timed[1] < POLICY_PROBES;
}

static int parallel_is_faster(const sklstm_thread_policy *policy)
{
    return policy->cost[0] > POLICY_GAIN * policy->cost[1];
}

int sklstm_policy_parallel(const sklstm_thread_policy *policy)
{
    enum sklstm_thread_mode m = sklstm_threads_mode();
    if (m != SKLSTM_THREADS_ADAPTIVE) return m == SKLSTM_THREADS_PARALLEL;
    if (policy == NULL) return 1;
    /* A kind that has just started runs on: its first minibatch is untimed. */
    if (policy->previous >= 0 && policy->run < POLICY_RUN) return policy->previous;
    /* Probes alternate runs, parallel first: P P S S P P S S. */
    if (probing(policy)) return policy->timed[1] <= policy->timed[0];
    int best = parallel_is_faster(policy);
    if (policy->since_probe >= POLICY_PROBE_EVERY
        && sklstm_threads_now() - policy->last_probe >= POLICY_PROBE_SECONDS) {
        return !best;
    }
    return best;
}

void sklstm_policy_record(sklstm_thread_policy *policy, int parallel, double flops,
                          double seconds)
{
    int k = parallel ? 1 : 0;
    int was_probe = !probing(policy) && k != parallel_is_faster(policy);
    policy->run = k == policy->previous ? policy->run + 1 : 1;
    policy->previous = k;
    if (policy->run > 1 && flops > 0 && seconds > 0) {
        double cost = seconds / flops;
        policy->cost[k] = policy->cost[k] == 0
                          ? cost : policy->cost[k] + POLICY_ALPHA * (cost - policy->cost[k]);
        policy->timed[k] += 1;
    }
    if (was_probe || probing(policy)) {
        policy->since_probe = 0;
        policy->last_probe = sklstm_threads_now();
    } else {
        policy->since_probe += 1;
    }
}

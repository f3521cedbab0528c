/*
 * Memory read bandwidth: THREADS threads each sum their share of a BYTES-sized buffer (far larger than the L3) with
 * 256-bit loads, best of REPEATS passes. This is the ceiling for decode, which reads every active weight once per
 * token. Build and run (tools/bench/compare.sh does both):
 *   gcc -O3 -march=native -pthread -o bandwidth tools/bench/bandwidth.c && ./bandwidth [THREADS] [MiB] [REPEATS]
 */
#include <immintrin.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
    const float *p;
    size_t n;
    pthread_barrier_t *start;
    double sum;
} job_t;

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void *reader(void *arg) {
    job_t *j = arg;
    pthread_barrier_wait(j->start);
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    for (size_t i = 0; i + 32 <= j->n; i += 32) {
        a0 = _mm256_add_ps(a0, _mm256_load_ps(j->p + i));
        a1 = _mm256_add_ps(a1, _mm256_load_ps(j->p + i + 8));
        a2 = _mm256_add_ps(a2, _mm256_load_ps(j->p + i + 16));
        a3 = _mm256_add_ps(a3, _mm256_load_ps(j->p + i + 24));
    }
    float t[8];
    _mm256_storeu_ps(t, _mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
    j->sum = t[0] + t[1] + t[2] + t[3] + t[4] + t[5] + t[6] + t[7];
    return NULL;
}

int main(int argc, char **argv) {
    int threads = argc > 1 ? atoi(argv[1]) : 2;
    size_t mib = argc > 2 ? (size_t) atol(argv[2]) : 1024;
    int repeats = argc > 3 ? atoi(argv[3]) : 10;
    size_t bytes = mib << 20;
    float *buf = aligned_alloc(64, bytes);
    if (!buf) { fprintf(stderr, "cannot allocate %zu MiB\n", mib); return 1; }
    size_t n = bytes / sizeof(float);
    for (size_t i = 0; i < n; i++) buf[i] = (float) (i & 7);  /* touch every page */
    double best = 0, total = 0, sum = 0;
    for (int r = 0; r < repeats; r++) {
        pthread_t tid[64];
        job_t jobs[64];
        pthread_barrier_t start;
        pthread_barrier_init(&start, NULL, threads + 1);
        size_t share = n / threads / 32 * 32;
        for (int t = 0; t < threads; t++) {
            jobs[t] = (job_t) {buf + t * share, share, &start, 0};
            pthread_create(&tid[t], NULL, reader, &jobs[t]);
        }
        pthread_barrier_wait(&start);
        double t0 = now();
        for (int t = 0; t < threads; t++) { pthread_join(tid[t], NULL); sum += jobs[t].sum; }
        double gbs = (double) share * threads * sizeof(float) / (now() - t0) / 1e9;
        pthread_barrier_destroy(&start);
        if (gbs > best) best = gbs;
        total += gbs;
    }
    printf("{\"threads\": %d, \"buffer_mib\": %zu, \"repeats\": %d, \"best_gb_per_s\": %.2f, \"mean_gb_per_s\": %.2f, "
           "\"checksum\": %.0f}\n", threads, mib, repeats, best, total / repeats, sum);
    free(buf);
    return 0;
}

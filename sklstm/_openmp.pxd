# OpenMP routines that degrade to their serial meaning when the extension is
# built without OpenMP (the pattern of sklearn/utils/_openmp_helpers.pxd).
# Everything OpenMP in sklstm is cimported from here.

cdef extern from *:
    """
    #ifdef _OPENMP
        #include <omp.h>
        #define SKLSTM_OPENMP_ENABLED 1
    #else
        #define SKLSTM_OPENMP_ENABLED 0
        #define omp_get_thread_num() 0
        #define omp_get_max_threads() 1
    #endif
    """
    bint SKLSTM_OPENMP_ENABLED
    int omp_get_thread_num() noexcept nogil
    int omp_get_max_threads() noexcept nogil

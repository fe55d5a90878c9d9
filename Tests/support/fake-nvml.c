/* A stand-in for NVIDIA's libnvidia-ml.so.1 with the five calls SystemSampler makes, for the
   tests of the GPU path on machines without a GPU. Three devices: 0 and 2 answer, 1 fails its
   handle (so its number must stay free). Built with -DINIT_FAILS, nvmlInit_v2 fails. */

typedef struct { unsigned int gpu, memory; } nvmlUtilization_t;
typedef struct { unsigned long long total, free, used; } nvmlMemory_t;
typedef struct fake_device { unsigned int index; } *nvmlDevice_t;

static struct fake_device devices[3] = {{0}, {1}, {2}};
static const unsigned long long GiB = 1024ULL * 1024ULL * 1024ULL;

int nvmlInit_v2(void) {
#ifdef INIT_FAILS
    return 999; /* NVML_ERROR_UNKNOWN */
#else
    return 0;
#endif
}

int nvmlDeviceGetCount_v2(unsigned int *count) {
    *count = 3;
    return 0;
}

int nvmlDeviceGetHandleByIndex_v2(unsigned int index, nvmlDevice_t *device) {
    if (index == 1 || index > 2) return 999; /* NVML_ERROR_UNKNOWN */
    *device = &devices[index];
    return 0;
}

int nvmlDeviceGetUtilizationRates(nvmlDevice_t device, nvmlUtilization_t *rates) {
    rates->gpu = device->index == 0 ? 37 : 90;
    rates->memory = 10;
    return 0;
}

int nvmlDeviceGetMemoryInfo(nvmlDevice_t device, nvmlMemory_t *memory) {
    memory->total = (device->index == 0 ? 8 : 16) * GiB;
    memory->used = (device->index == 0 ? 2 : 12) * GiB;
    memory->free = memory->total - memory->used;
    return 0;
}

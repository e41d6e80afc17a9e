// A small C ABI over USearch's `index_dense_t`, compiled to wasm32-wasi (reactor) for workerd and Node.
//
// Conventions of every export:
// - The last error is cleared on entry. A failing call returns 0 (pointers) or a negative number and leaves a
//   NUL-terminated message readable through `ann_last_error()`. Nothing fails silently.
// - Vectors always cross the boundary as float32; the index converts them to its own scalar kind.
// - Keys are uint32 on this side: in our bundles a key is the row of the item in the item table. Buffers
//   that hold larger keys (or deleted entries) are refused when loading, so results never need truncating.
// - Buffers handed to `ann_load_view` must come from `ann_alloc`; the index takes ownership of them.
#include <cerrno> // USearch uses errno without including it
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <algorithm>
#include <new>

#include <wasm_simd128.h>

#include <usearch/index_dense.hpp>

using namespace unum::usearch;

#define ANN_EXPORT(name) extern "C" __attribute__((export_name(#name), visibility("default")))

namespace {

// Codes shared with core/ann/abi.ts.
enum ann_metric_code : std::uint32_t { metric_cos = 0, metric_ip = 1, metric_l2sq = 2 };
enum ann_scalar_code : std::uint32_t { scalar_f32 = 0, scalar_f16 = 1, scalar_bf16 = 2, scalar_i8 = 3, scalar_f64 = 4 };

constexpr std::size_t max_dimensions = 1u << 16;
constexpr std::size_t max_connectivity = 1024;
constexpr std::size_t max_expansion = 1u << 16;
constexpr std::uint64_t max_level_allowed = 64;
constexpr std::uint64_t max_key = 0xFFFFFFFFull;

char last_error[512];

void clear_error() noexcept { last_error[0] = '\0'; }

void set_error(char const* message) noexcept {
    std::size_t length = std::strlen(message);
    if (length >= sizeof(last_error))
        length = sizeof(last_error) - 1;
    std::memcpy(last_error, message, length);
    last_error[length] = '\0';
}

// Appends a decimal number: the messages name the offending dimension, row or byte count.
void set_error_with_number(char const* prefix, std::uint64_t number, char const* suffix = "") noexcept {
    char digits[24];
    std::size_t count = 0;
    do {
        digits[count++] = static_cast<char>('0' + number % 10);
        number /= 10;
    } while (number && count < sizeof(digits));
    char message[sizeof(last_error)];
    std::size_t length = 0;
    for (char const* c = prefix; *c && length + 1 < sizeof(message); ++c)
        message[length++] = *c;
    while (count && length + 1 < sizeof(message))
        message[length++] = digits[--count];
    for (char const* c = suffix; *c && length + 1 < sizeof(message); ++c)
        message[length++] = *c;
    message[length] = '\0';
    set_error(message);
}

// Fault injection for the binding's trap-recovery tests: after `n` more index calls, the next one executes
// `unreachable`. A fresh instance starts disarmed, which is exactly what recovery relies on.
std::uint32_t calls_until_trap = 0;

void maybe_inject_trap() noexcept {
    if (calls_until_trap == 0)
        return;
    if (--calls_until_trap == 0)
        __builtin_trap();
}

bool metric_from_code(std::uint32_t code, metric_kind_t& kind) noexcept {
    switch (code) {
    case metric_cos: kind = metric_kind_t::cos_k; return true;
    case metric_ip: kind = metric_kind_t::ip_k; return true;
    case metric_l2sq: kind = metric_kind_t::l2sq_k; return true;
    default: return false;
    }
}

bool scalar_from_code(std::uint32_t code, scalar_kind_t& kind) noexcept {
    switch (code) {
    case scalar_f32: kind = scalar_kind_t::f32_k; return true;
    case scalar_f16: kind = scalar_kind_t::f16_k; return true;
    case scalar_bf16: kind = scalar_kind_t::bf16_k; return true;
    case scalar_i8: kind = scalar_kind_t::i8_k; return true;
    case scalar_f64: kind = scalar_kind_t::f64_k; return true;
    default: return false;
    }
}

std::int32_t metric_to_code(metric_kind_t kind) noexcept {
    switch (kind) {
    case metric_kind_t::cos_k: return metric_cos;
    case metric_kind_t::ip_k: return metric_ip;
    case metric_kind_t::l2sq_k: return metric_l2sq;
    default: return -1;
    }
}

std::int32_t scalar_to_code(scalar_kind_t kind) noexcept {
    switch (kind) {
    case scalar_kind_t::f32_k: return scalar_f32;
    case scalar_kind_t::f16_k: return scalar_f16;
    case scalar_kind_t::bf16_k: return scalar_bf16;
    case scalar_kind_t::i8_k: return scalar_i8;
    case scalar_kind_t::f64_k: return scalar_f64;
    default: return -1;
    }
}

// Index of the first NaN or Infinity in the vector, or -1 when every component is finite.
std::int64_t first_non_finite(float const* vector, std::size_t dimensions) noexcept {
    for (std::size_t i = 0; i != dimensions; ++i)
        if (!(vector[i] - vector[i] == 0.0f))
            return static_cast<std::int64_t>(i);
    return -1;
}

template <typename word_at> word_at read_le(std::uint8_t const* bytes) noexcept {
    word_at word;
    std::memcpy(&word, bytes, sizeof(word));
    return word;
}

// True when a stored scalar encodes NaN or Infinity: all exponent bits set.
bool stored_scalar_is_non_finite(scalar_kind_t kind, std::uint8_t const* bytes) noexcept {
    switch (kind) {
    case scalar_kind_t::f32_k: return (read_le<std::uint32_t>(bytes) & 0x7F800000u) == 0x7F800000u;
    case scalar_kind_t::f64_k:
        return (read_le<std::uint64_t>(bytes) & 0x7FF0000000000000ull) == 0x7FF0000000000000ull;
    case scalar_kind_t::f16_k: return (read_le<std::uint16_t>(bytes) & 0x7C00u) == 0x7C00u;
    case scalar_kind_t::bf16_k: return (read_le<std::uint16_t>(bytes) & 0x7F80u) == 0x7F80u;
    default: return false;
    }
}

std::size_t scalar_bytes(scalar_kind_t kind) noexcept {
    switch (kind) {
    case scalar_kind_t::f64_k: return 8;
    case scalar_kind_t::f32_k: return 4;
    case scalar_kind_t::f16_k:
    case scalar_kind_t::bf16_k: return 2;
    case scalar_kind_t::i8_k: return 1;
    default: return 0;
    }
}

/**
 *  Checks a serialized `index_dense_t` completely before USearch touches it. USearch trusts its input: a
 *  neighbour slot past the end, a node level higher than its neighbours', or a truncated tail would make the
 *  search read outside the index and return wrong neighbours (or trap). Walking the graph costs a few
 *  milliseconds per 100k nodes, far less than the fetch of the bytes.
 */
bool validate_serialized(std::uint8_t const* bytes, std::size_t length) noexcept {
    // Vectors matrix: u32 rows, u32 bytes per row, then rows * cols bytes.
    if (length < 8) {
        set_error_with_number("Index buffer is truncated: ", length, " bytes, fewer than the 8-byte matrix prelude");
        return false;
    }
    std::uint64_t const rows = read_le<std::uint32_t>(bytes);
    std::uint64_t const cols = read_le<std::uint32_t>(bytes + 4);
    std::uint64_t const matrix_end = 8 + rows * cols;
    if (matrix_end + 64 + sizeof(index_serialized_header_t) > length) {
        set_error_with_number("Index buffer is truncated or corrupt: its prelude announces more bytes than the ",
                              length, " it holds");
        return false;
    }

    // Dense header (64 bytes).
    byte_t head_bytes[64];
    std::memcpy(head_bytes, bytes + matrix_end, sizeof(head_bytes));
    index_dense_head_t head{head_bytes};
    if (std::memcmp(head_bytes, default_magic(), std::strlen(default_magic())) != 0) {
        set_error("Index buffer is not a USearch index: magic header mismatch");
        return false;
    }
    if (head.version_major != USEARCH_VERSION_MAJOR || head.version_minor < 10) {
        set_error_with_number("Index buffer was written by an unsupported USearch version; expected 2.10 or later, got major ",
                              static_cast<std::uint16_t>(head.version_major));
        return false;
    }
    if (head.kind_key != scalar_kind_t::u64_k || head.kind_compressed_slot != scalar_kind_t::u32_k) {
        set_error("Index buffer uses key or slot types other than u64/u32");
        return false;
    }
    if (metric_to_code(head.kind_metric) < 0) {
        set_error("Index buffer uses a metric this build does not support (cos, ip and l2sq are)");
        return false;
    }
    scalar_kind_t const scalar = head.kind_scalar;
    if (scalar_to_code(scalar) < 0) {
        set_error("Index buffer uses a scalar kind this build does not support (f32, f16, bf16, i8, f64 are)");
        return false;
    }
    std::uint64_t const dimensions = head.dimensions;
    if (dimensions == 0 || dimensions > max_dimensions) {
        set_error_with_number("Index buffer is corrupt: dimensions = ", dimensions);
        return false;
    }
    if (cols != dimensions * scalar_bytes(scalar)) {
        set_error_with_number("Index buffer is corrupt: a stored vector has ", cols,
                              " bytes, which does not match its dimensions and scalar kind");
        return false;
    }
    if (head.count_deleted != 0) {
        set_error("Index buffer holds deleted entries; compact the index before exporting it");
        return false;
    }
    if (head.count_present != rows) {
        set_error("Index buffer is corrupt: the header's vector count differs from the matrix rows");
        return false;
    }

    // Graph header (5 x u64), then one i16 level per node, then the nodes.
    std::uint8_t const* graph = bytes + matrix_end + 64;
    std::uint64_t const graph_length = length - (matrix_end + 64);
    index_serialized_header_t graph_head;
    std::memcpy(&graph_head, graph, sizeof(graph_head));
    if (graph_head.size != rows) {
        set_error("Index buffer is corrupt: the graph size differs from the number of vectors");
        return false;
    }
    if (rows == 0) {
        if (graph_length != sizeof(graph_head)) {
            set_error("Index buffer is corrupt: an empty index has trailing bytes");
            return false;
        }
        return true;
    }
    std::uint64_t const connectivity = graph_head.connectivity;
    std::uint64_t const connectivity_base = graph_head.connectivity_base;
    if (connectivity < 2 || connectivity > max_connectivity || connectivity_base < connectivity ||
        connectivity_base > 2 * max_connectivity) {
        set_error("Index buffer is corrupt: implausible graph connectivity");
        return false;
    }
    if (graph_head.max_level >= max_level_allowed || graph_head.entry_slot >= rows) {
        set_error("Index buffer is corrupt: implausible top level or entry point");
        return false;
    }

    using level_t = std::int16_t;
    std::size_t const head_bytes_per_node = sizeof(std::uint64_t) + sizeof(level_t);
    std::size_t const base_bytes = sizeof(std::uint32_t) * (1 + connectivity_base);
    std::size_t const upper_bytes = sizeof(std::uint32_t) * (1 + connectivity);
    std::uint64_t const levels_end = sizeof(graph_head) + rows * sizeof(level_t);
    if (levels_end > graph_length) {
        set_error("Index buffer is truncated: node levels are cut off");
        return false;
    }
    auto level_of = [&](std::uint64_t slot) noexcept {
        return read_le<level_t>(graph + sizeof(graph_head) + slot * sizeof(level_t));
    };
    std::uint64_t expected_end = levels_end;
    for (std::uint64_t slot = 0; slot != rows; ++slot) {
        level_t const level = level_of(slot);
        if (level < 0 || static_cast<std::uint64_t>(level) > graph_head.max_level) {
            set_error_with_number("Index buffer is corrupt: implausible level of node ", slot);
            return false;
        }
        expected_end += head_bytes_per_node + base_bytes + upper_bytes * static_cast<std::uint64_t>(level);
    }
    if (expected_end != graph_length) {
        if (expected_end > graph_length)
            set_error_with_number("Index buffer is truncated: the graph needs ", expected_end - graph_length,
                                  " more bytes");
        else
            set_error_with_number("Index buffer is corrupt: ", graph_length - expected_end,
                                  " unexpected bytes after the graph");
        return false;
    }
    if (static_cast<std::uint64_t>(level_of(graph_head.entry_slot)) != graph_head.max_level) {
        set_error("Index buffer is corrupt: the entry point is not on the top level");
        return false;
    }

    std::uint8_t const* node = graph + levels_end;
    for (std::uint64_t slot = 0; slot != rows; ++slot) {
        std::uint64_t const key = read_le<std::uint64_t>(node);
        level_t const level = read_le<level_t>(node + sizeof(std::uint64_t));
        if (level != level_of(slot)) {
            set_error_with_number("Index buffer is corrupt: level mismatch at node ", slot);
            return false;
        }
        if (key > max_key) {
            set_error_with_number("Index buffer holds a key of 2^32 or more at node ", slot,
                                  "; keys must be item-table rows");
            return false;
        }
        std::uint8_t const* neighbors = node + head_bytes_per_node;
        for (level_t at_level = 0; at_level <= level; ++at_level) {
            std::uint64_t const capacity = at_level == 0 ? connectivity_base : connectivity;
            std::uint32_t const count = read_le<std::uint32_t>(neighbors);
            if (count > capacity) {
                set_error_with_number("Index buffer is corrupt: too many neighbours at node ", slot);
                return false;
            }
            for (std::uint32_t i = 0; i != count; ++i) {
                std::uint32_t const neighbor = read_le<std::uint32_t>(neighbors + sizeof(std::uint32_t) * (1 + i));
                if (neighbor >= rows || level_of(neighbor) < at_level) {
                    set_error_with_number("Index buffer is corrupt: invalid neighbour link at node ", slot);
                    return false;
                }
            }
            neighbors += at_level == 0 ? base_bytes : upper_bytes;
        }
        node = neighbors;
    }

    // Vectors: a NaN or Infinity stored in the index would poison every distance it takes part in.
    std::size_t const width = scalar_bytes(scalar);
    if (scalar != scalar_kind_t::i8_k) {
        std::uint8_t const* matrix = bytes + 8;
        for (std::uint64_t offset = 0; offset != rows * cols; offset += width)
            if (stored_scalar_is_non_finite(scalar, matrix + offset)) {
                set_error_with_number("Index buffer holds NaN or Infinity in the vector of row ", offset / cols);
                return false;
            }
    }
    return true;
}

/// One row's distance in an exact scan; ordered by distance, then key, so equal distances come out the same way
/// every time.
struct flat_hit {
    float distance;
    std::uint32_t key;
};

/// What an exact scan of a viewed f32 index reads: the serialized vectors matrix in place (row r = slot r) and
/// each slot's key. USearch's own exact search keeps its top-k in a sorted buffer, which costs O(n·k) once k is
/// in the hundreds; the scan computes every distance with SIMD and selects the k best in O(n + k log k).
struct flat_view {
    float const* vectors = nullptr; // points into the viewed bytes
    std::uint32_t* keys = nullptr;  // owned
    flat_hit* hits = nullptr;       // owned scratch, one per row
    std::size_t rows = 0;
    bool inner_product = false; // else squared L2
};

struct ann_index_t {
    index_dense_t index;
    std::uint8_t* viewed_bytes = nullptr; // owned; the index points into it when loaded with `ann_load_view`
    std::size_t viewed_length = 0;
    std::uint64_t* key_scratch = nullptr; // u64 keys from USearch, narrowed into the caller's u32 buffer
    std::size_t key_scratch_capacity = 0;
    flat_view flat; // set for viewed f32 indexes with the ip or l2sq metric

    ~ann_index_t() {
        index.reset();
        std::free(viewed_bytes);
        std::free(key_scratch);
        std::free(flat.keys);
        std::free(flat.hits);
    }
};

/// Prepares the exact scan over a viewed buffer that `validate_serialized` accepted. Indexes it does not cover
/// (other scalar kinds, the cos metric) keep USearch's own exact search. False only when out of memory.
bool prepare_flat_view(ann_index_t& handle) noexcept {
    std::uint8_t const* bytes = handle.viewed_bytes;
    std::uint64_t const rows = read_le<std::uint32_t>(bytes);
    std::uint64_t const cols = read_le<std::uint32_t>(bytes + 4);
    std::uint64_t const matrix_end = 8 + rows * cols;
    byte_t head_bytes[64];
    std::memcpy(head_bytes, bytes + matrix_end, sizeof(head_bytes));
    index_dense_head_t head{head_bytes};
    scalar_kind_t const scalar = head.kind_scalar;
    metric_kind_t const metric = head.kind_metric;
    if (rows == 0 || scalar != scalar_kind_t::f32_k || (metric != metric_kind_t::ip_k && metric != metric_kind_t::l2sq_k))
        return true;

    std::uint8_t const* graph = bytes + matrix_end + 64;
    index_serialized_header_t graph_head;
    std::memcpy(&graph_head, graph, sizeof(graph_head));
    using level_t = std::int16_t;
    std::size_t const base_bytes = sizeof(std::uint32_t) * (1 + graph_head.connectivity_base);
    std::size_t const upper_bytes = sizeof(std::uint32_t) * (1 + graph_head.connectivity);
    std::uint32_t* keys = static_cast<std::uint32_t*>(std::malloc(rows * sizeof(std::uint32_t)));
    flat_hit* hits = static_cast<flat_hit*>(std::malloc(rows * sizeof(flat_hit)));
    if (!keys || !hits) {
        std::free(keys);
        std::free(hits);
        set_error("Out of memory for the exact-scan tables");
        return false;
    }
    std::uint8_t const* node = graph + sizeof(graph_head) + rows * sizeof(level_t);
    for (std::uint64_t slot = 0; slot != rows; ++slot) {
        keys[slot] = static_cast<std::uint32_t>(read_le<std::uint64_t>(node));
        level_t const level = read_le<level_t>(node + sizeof(std::uint64_t));
        node += sizeof(std::uint64_t) + sizeof(level_t) + base_bytes + upper_bytes * static_cast<std::uint64_t>(level);
    }
    handle.flat.vectors = reinterpret_cast<float const*>(bytes + 8);
    handle.flat.keys = keys;
    handle.flat.hits = hits;
    handle.flat.rows = rows;
    handle.flat.inner_product = metric == metric_kind_t::ip_k;
    return true;
}

float horizontal_sum(v128_t lanes) noexcept {
    return wasm_f32x4_extract_lane(lanes, 0) + wasm_f32x4_extract_lane(lanes, 1) +
           (wasm_f32x4_extract_lane(lanes, 2) + wasm_f32x4_extract_lane(lanes, 3));
}

/// USearch's distances: ip = 1 − a·b, l2sq = Σ (a − b)².
float flat_distance(float const* a, float const* b, std::size_t dimensions, bool inner_product) noexcept {
    v128_t sum0 = wasm_f32x4_splat(0.f);
    v128_t sum1 = wasm_f32x4_splat(0.f);
    std::size_t d = 0;
    if (inner_product) {
        for (; d + 8 <= dimensions; d += 8) {
            sum0 = wasm_f32x4_add(sum0, wasm_f32x4_mul(wasm_v128_load(a + d), wasm_v128_load(b + d)));
            sum1 = wasm_f32x4_add(sum1, wasm_f32x4_mul(wasm_v128_load(a + d + 4), wasm_v128_load(b + d + 4)));
        }
        float dot = horizontal_sum(wasm_f32x4_add(sum0, sum1));
        for (; d != dimensions; ++d)
            dot += a[d] * b[d];
        return 1.f - dot;
    }
    for (; d + 8 <= dimensions; d += 8) {
        v128_t const low = wasm_f32x4_sub(wasm_v128_load(a + d), wasm_v128_load(b + d));
        v128_t const high = wasm_f32x4_sub(wasm_v128_load(a + d + 4), wasm_v128_load(b + d + 4));
        sum0 = wasm_f32x4_add(sum0, wasm_f32x4_mul(low, low));
        sum1 = wasm_f32x4_add(sum1, wasm_f32x4_mul(high, high));
    }
    float squared = horizontal_sum(wasm_f32x4_add(sum0, sum1));
    for (; d != dimensions; ++d)
        squared += (a[d] - b[d]) * (a[d] - b[d]);
    return squared;
}

std::int32_t flat_search(ann_index_t& handle, float const* query, std::size_t wanted, std::uint32_t* keys_out,
                         float* distances_out) noexcept {
    flat_view const& flat = handle.flat;
    std::size_t const dimensions = handle.index.dimensions();
    for (std::size_t row = 0; row != flat.rows; ++row)
        flat.hits[row] = {flat_distance(query, flat.vectors + row * dimensions, dimensions, flat.inner_product), flat.keys[row]};
    auto closer = [](flat_hit const& a, flat_hit const& b) noexcept {
        return a.distance < b.distance || (a.distance == b.distance && a.key < b.key);
    };
    std::size_t const found = wanted < flat.rows ? wanted : flat.rows;
    if (found < flat.rows)
        std::nth_element(flat.hits, flat.hits + found, flat.hits + flat.rows, closer);
    std::sort(flat.hits, flat.hits + found, closer);
    for (std::size_t i = 0; i != found; ++i) {
        keys_out[i] = flat.hits[i].key;
        distances_out[i] = flat.hits[i].distance;
    }
    return static_cast<std::int32_t>(found);
}

bool check_handle(ann_index_t const* handle) noexcept {
    if (!handle) {
        set_error("Null index handle");
        return false;
    }
    return true;
}

bool ensure_key_scratch(ann_index_t& handle, std::size_t count) noexcept {
    if (handle.key_scratch_capacity >= count)
        return true;
    void* grown = std::realloc(handle.key_scratch, count * sizeof(std::uint64_t));
    if (!grown) {
        set_error("Out of memory for the search results");
        return false;
    }
    handle.key_scratch = static_cast<std::uint64_t*>(grown);
    handle.key_scratch_capacity = count;
    return true;
}

} // namespace

ANN_EXPORT(ann_alloc) void* ann_alloc(std::uint32_t bytes) {
    clear_error();
    void* pointer = std::malloc(bytes ? bytes : 1);
    if (!pointer)
        set_error_with_number("Out of wasm memory allocating ", bytes, " bytes");
    return pointer;
}

ANN_EXPORT(ann_free) void ann_free(void* pointer) { std::free(pointer); }

ANN_EXPORT(ann_last_error) char const* ann_last_error() { return last_error; }

ANN_EXPORT(ann_debug_trap_after) void ann_debug_trap_after(std::uint32_t calls) { calls_until_trap = calls; }

ANN_EXPORT(ann_create)
ann_index_t* ann_create(std::uint32_t dimensions, std::uint32_t metric_code, std::uint32_t scalar_code,
                        std::uint32_t connectivity, std::uint32_t expansion_add, std::uint32_t expansion_search) {
    clear_error();
    maybe_inject_trap();
    metric_kind_t metric_kind;
    scalar_kind_t scalar_kind;
    if (dimensions == 0 || dimensions > max_dimensions) {
        set_error_with_number("Dimensions must be in 1..65536, got ", dimensions);
        return nullptr;
    }
    if (!metric_from_code(metric_code, metric_kind)) {
        set_error_with_number("Unknown metric code ", metric_code);
        return nullptr;
    }
    if (!scalar_from_code(scalar_code, scalar_kind)) {
        set_error_with_number("Unknown scalar kind code ", scalar_code);
        return nullptr;
    }
    if (connectivity == 1 || connectivity > max_connectivity) {
        set_error_with_number("Connectivity must be 0 (default) or 2..1024, got ", connectivity);
        return nullptr;
    }
    if (expansion_add > max_expansion || expansion_search > max_expansion) {
        set_error("Expansion must be at most 65536");
        return nullptr;
    }
    metric_punned_t metric(dimensions, metric_kind, scalar_kind);
    if (!metric) {
        set_error("USearch has no kernel for this metric and scalar kind");
        return nullptr;
    }
    index_dense_config_t config(connectivity, expansion_add, expansion_search);
    index_dense_t::state_result_t made = index_dense_t::make(metric, config);
    if (!made) {
        set_error(made.error.release());
        return nullptr;
    }
    ann_index_t* handle = new (std::nothrow) ann_index_t;
    if (!handle) {
        set_error("Out of memory for the index handle");
        return nullptr;
    }
    handle->index = std::move(made.index);
    return handle;
}

/// Parses a serialized index that the caller allocated with `ann_alloc`; takes ownership of `bytes` either way,
/// and the index keeps pointing into them (no copy of vectors or graph).
ANN_EXPORT(ann_load_view) ann_index_t* ann_load_view(std::uint8_t* bytes, std::uint32_t length) {
    clear_error();
    maybe_inject_trap();
    if (!bytes) {
        set_error("Null index buffer");
        return nullptr;
    }
    if (!validate_serialized(bytes, length)) {
        std::free(bytes);
        return nullptr;
    }
    ann_index_t* handle = new (std::nothrow) ann_index_t;
    if (!handle) {
        std::free(bytes);
        set_error("Out of memory for the index handle");
        return nullptr;
    }
    handle->viewed_bytes = bytes;
    handle->viewed_length = length;
    serialization_result_t viewed = handle->index.view(memory_mapped_file_t(reinterpret_cast<byte_t*>(bytes), length));
    if (!viewed) {
        set_error(viewed.error.release());
        delete handle;
        return nullptr;
    }
    if (!handle->index.metric()) {
        set_error("USearch has no kernel for the metric and scalar kind of this index");
        delete handle;
        return nullptr;
    }
    if (!prepare_flat_view(*handle)) {
        delete handle;
        return nullptr;
    }
    return handle;
}

/// Parses a serialized index into memory owned by the index, which stays mutable; the caller keeps `bytes`.
ANN_EXPORT(ann_load_copy) ann_index_t* ann_load_copy(std::uint8_t const* bytes, std::uint32_t length) {
    clear_error();
    maybe_inject_trap();
    if (!bytes) {
        set_error("Null index buffer");
        return nullptr;
    }
    if (!validate_serialized(bytes, length))
        return nullptr;
    ann_index_t* handle = new (std::nothrow) ann_index_t;
    if (!handle) {
        set_error("Out of memory for the index handle");
        return nullptr;
    }
    std::size_t offset = 0;
    auto input = [&](void* destination, std::size_t count) noexcept {
        if (count > length - offset)
            return false;
        std::memcpy(destination, bytes + offset, count);
        offset += count;
        return true;
    };
    serialization_result_t loaded = handle->index.load_from_stream(input);
    if (!loaded) {
        set_error(loaded.error.release());
        delete handle;
        return nullptr;
    }
    if (!handle->index.metric()) {
        set_error("USearch has no kernel for the metric and scalar kind of this index");
        delete handle;
        return nullptr;
    }
    return handle;
}

ANN_EXPORT(ann_destroy) void ann_destroy(ann_index_t* handle) { delete handle; }

/// Adds `count` row-major vectors with their keys. Every row is checked (finite values, key not present yet)
/// before any is added. Returns the number of rows added; fewer than `count` means an error is set.
ANN_EXPORT(ann_add)
std::int32_t ann_add(ann_index_t* handle, std::uint32_t const* keys, float const* vectors, std::uint32_t count) {
    clear_error();
    maybe_inject_trap();
    if (!check_handle(handle))
        return 0;
    if (handle->viewed_bytes) {
        set_error("A viewed index is read-only; load it as a copy to add vectors");
        return 0;
    }
    index_dense_t& index = handle->index;
    std::size_t const dimensions = index.dimensions();
    for (std::uint32_t row = 0; row != count; ++row) {
        if (first_non_finite(vectors + row * dimensions, dimensions) >= 0)
            return set_error_with_number("Vector of row ", row, " holds NaN or Infinity"), 0;
        if (index.contains(keys[row]))
            return set_error_with_number("Key ", keys[row], " is already in the index"), 0;
    }
    std::size_t const needed = index.size() + count;
    if (needed > index.capacity()) {
        std::size_t grown = index.capacity() ? index.capacity() : 64;
        while (grown < needed)
            grown *= 2;
        if (!index.try_reserve(index_limits_t(grown, 1)))
            return set_error("Out of memory reserving index capacity"), 0;
    }
    for (std::uint32_t row = 0; row != count; ++row) {
        index_dense_t::add_result_t added = index.add(keys[row], vectors + row * dimensions);
        if (!added) {
            set_error(added.error.release());
            return static_cast<std::int32_t>(row);
        }
    }
    return static_cast<std::int32_t>(count);
}

/// Writes up to `wanted` nearest keys and distances, closest first. `expansion` 0 keeps the index default;
/// `exact` != 0 scans every vector instead of walking the graph (with the SIMD scan of `flat_view` when the
/// index has one, else USearch's). Returns the count, or -1 with the error set.
ANN_EXPORT(ann_search)
std::int32_t ann_search(ann_index_t* handle, float const* query, std::uint32_t wanted, std::uint32_t expansion,
                        std::uint32_t exact, std::uint32_t* keys_out, float* distances_out) {
    clear_error();
    maybe_inject_trap();
    if (!check_handle(handle))
        return -1;
    if (wanted == 0)
        return set_error("k must be at least 1"), -1;
    if (expansion > max_expansion)
        return set_error("Expansion must be at most 65536"), -1;
    index_dense_t& index = handle->index;
    std::int64_t const bad_dimension = first_non_finite(query, index.dimensions());
    if (bad_dimension >= 0)
        return set_error_with_number("Query holds NaN or Infinity at dimension ", bad_dimension), -1;
    if (exact && handle->flat.rows)
        return flat_search(*handle, query, wanted, keys_out, distances_out);
    if (!ensure_key_scratch(*handle, wanted))
        return -1;
    std::size_t const previous_expansion = index.expansion_search();
    if (expansion)
        index.change_expansion_search(expansion);
    index_dense_t::search_result_t result = index.search(query, wanted, index_dense_t::any_thread(), exact != 0);
    index.change_expansion_search(previous_expansion);
    if (!result) {
        set_error(result.error.release());
        return -1;
    }
    std::size_t const found = result.dump_to(handle->key_scratch, distances_out, wanted);
    for (std::size_t i = 0; i != found; ++i)
        keys_out[i] = static_cast<std::uint32_t>(handle->key_scratch[i]);
    return static_cast<std::int32_t>(found);
}

ANN_EXPORT(ann_serialized_length) std::int32_t ann_serialized_length(ann_index_t* handle) {
    clear_error();
    if (!check_handle(handle))
        return -1;
    std::size_t const length = handle->index.serialized_length();
    if (length > 0x7FFFFFFFu)
        return set_error("Serialized index exceeds 2 GiB"), -1;
    return static_cast<std::int32_t>(length);
}

/// Writes the index in USearch's file format (the same bytes `Index.save` writes natively).
/// Returns the number of bytes written, or -1 with the error set.
ANN_EXPORT(ann_serialize)
std::int32_t ann_serialize(ann_index_t* handle, std::uint8_t* destination, std::uint32_t capacity) {
    clear_error();
    maybe_inject_trap();
    if (!check_handle(handle))
        return -1;
    std::size_t offset = 0;
    auto output = [&](void const* source, std::size_t count) noexcept {
        if (count > capacity - offset)
            return false;
        std::memcpy(destination + offset, source, count);
        offset += count;
        return true;
    };
    serialization_result_t saved = handle->index.save_to_stream(output);
    if (!saved) {
        set_error(saved.error.release());
        return -1;
    }
    return static_cast<std::int32_t>(offset);
}

ANN_EXPORT(ann_size) std::int32_t ann_size(ann_index_t* handle) {
    return check_handle(handle) ? static_cast<std::int32_t>(handle->index.size()) : -1;
}

ANN_EXPORT(ann_dimensions) std::int32_t ann_dimensions(ann_index_t* handle) {
    return check_handle(handle) ? static_cast<std::int32_t>(handle->index.dimensions()) : -1;
}

ANN_EXPORT(ann_connectivity) std::int32_t ann_connectivity(ann_index_t* handle) {
    return check_handle(handle) ? static_cast<std::int32_t>(handle->index.connectivity()) : -1;
}

ANN_EXPORT(ann_expansion_search) std::int32_t ann_expansion_search(ann_index_t* handle) {
    return check_handle(handle) ? static_cast<std::int32_t>(handle->index.expansion_search()) : -1;
}

ANN_EXPORT(ann_metric) std::int32_t ann_metric(ann_index_t* handle) {
    return check_handle(handle) ? metric_to_code(handle->index.metric_kind()) : -1;
}

ANN_EXPORT(ann_scalar) std::int32_t ann_scalar(ann_index_t* handle) {
    return check_handle(handle) ? scalar_to_code(handle->index.scalar_kind()) : -1;
}

/// Bytes this index holds in wasm memory: USearch's own estimate plus the viewed buffer, if any.
ANN_EXPORT(ann_memory_usage) double ann_memory_usage(ann_index_t* handle) {
    if (!check_handle(handle))
        return -1;
    return static_cast<double>(handle->index.memory_usage() + handle->viewed_length + handle->key_scratch_capacity * 8);
}

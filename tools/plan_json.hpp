#pragma once
// loader-plan --json: the plan as JSON, derived from field lists. The
// protocol types are reflected in loader_api/reflect.hpp; the planner's own
// types (types.hpp, no Hana there on purpose) get their field lists here,
// with the same LOADER_API_REFLECT macro, so no type has a hand-written
// writer. The walker below extends reflect::write_json to the value types
// the planner uses that the protocol does not (kmem addresses and ranges,
// string_view, bool, kmem::FixedList).

#include <concepts>
#include <utility>
#include <string_view>
#include <type_traits>

#include "kmem/address.hpp"
#include "kmem/range.hpp"
#include "kmem/riscv.hpp"
#include "loader_api/plan.hpp"
#include "loader_api/reflect.hpp"
#include "plan_context.hpp"
#include "tool_text.hpp"

LOADER_API_REFLECT(kmem::PageFlags, read, write, execute, user, global, allow_write_execute, memory_type);
LOADER_API_REFLECT(loader_api::Allocation, range, kind, origin, label, index);
LOADER_API_REFLECT(loader_api::VirtualArea, kind, label, index, range, physical, flags, mapped, copied);
LOADER_API_REFLECT(loader_api::HartPlan, hart_id, state, sbi_error, sp, tp, stack, tls, stack_frames, tls_frames);
LOADER_API_REFLECT(loader_api::Placement, block, granularity, positions, randomised);
LOADER_API_REFLECT(loader_api::PlanStatistics, table_frames, leaves, physmap, kernel, stacks, kaslr_slide,
                   physmap_offset, allocated_bytes, copied_kernel_bytes, in_place_kernel_bytes, relocations);
LOADER_API_REFLECT(loader_api::PlanWarning, code, value, other, text);
// The decisions of the plan; `machine` (the parsed tree) and the workspace
// are inputs and scratch, and boot_info_bytes is written out as the
// BootInfo itself.
LOADER_API_REFLECT(loader_api::BasicPlan, config, mode, satp, root, entry, kaslr, kaslr_slide, physmap_offset, physmap,
                   kernel_virtual, boot_info_physical, boot_info_virtual, boot_info_size, harts, allocations, areas,
                   regions, warnings, warnings_dropped, stats);

namespace loader_plan::json {

template <class T>
struct IsFixedList : std::false_type {};
template <class T, std::size_t N>
struct IsFixedList<kmem::FixedList<T, N>> : std::true_type {};
template <class T>
struct IsFixedList<kmem::BoundedList<T>> : std::true_type {};

template <class T>
struct IsAddress : std::false_type {};
template <class Tag>
struct IsAddress<kmem::Address<Tag>> : std::true_type {};

template <class T>
struct IsRange : std::false_type {};
template <class A>
struct IsRange<kmem::AddressRange<A>> : std::true_type {};

template <kmem::CharSink S, class M>
void write(S& sink, const M& value);

template <kmem::CharSink S, class Items>
void write_items(S& sink, const Items& items) {
    sink.put('[');
    bool first = true;
    for (const auto& item : items) {
        if (!first) sink.put(',');
        first = false;
        write(sink, item);
    }
    sink.put(']');
}

template <kmem::CharSink S, class M>
void write(S& sink, const M& value) {
    namespace reflect = loader_api::reflect;
    if constexpr (std::is_same_v<M, bool>) {
        kmem::write(sink, value ? "true" : "false");
    } else if constexpr (std::is_same_v<M, std::string_view>) {
        reflect::write_json_string(sink, value);
    } else if constexpr (std::is_same_v<M, kmem::PagingModeId>) {
        reflect::write_json_string(sink, kmem::name(value));
    } else if constexpr (IsAddress<M>::value) {
        kmem::write_dec(sink, value.value());
    } else if constexpr (IsRange<M>::value) {
        kmem::write(sink, "{\"begin\":");
        kmem::write_dec(sink, value.begin().value());
        kmem::write(sink, ",\"end\":");
        kmem::write_dec(sink, value.end().value());
        kmem::write(sink, ",\"size\":");
        kmem::write_dec(sink, value.size());
        sink.put('}');
    } else if constexpr (IsFixedList<M>::value) {
        write_items(sink, value);
    } else if constexpr (reflect::Reflected<M>) {
        sink.put('{');
        bool first = true;
        reflect::for_each_field(value, [&](const reflect::FieldLayout& layout, const auto& member) {
            if (!first) sink.put(',');
            first = false;
            reflect::write_json_string(sink, layout.name);
            sink.put(':');
            write(sink, member);
        });
        // WarningCode has no names: the formatted warning says what it is.
        if constexpr (std::is_same_v<M, loader_api::PlanWarning>) {
            kmem::write(sink, ",\"message\":");
            reflect::write_json_string(sink, text_of(value));
        }
        sink.put('}');
    } else if constexpr (reflect::Named<M>) {
        reflect::write_json_string(sink, to_string(value));
    } else if constexpr (std::is_enum_v<M>) {
        // No name to give (e.g. WarningCode): the number, as the ABI has it.
        kmem::write_dec(sink, static_cast<std::uint64_t>(value));
    } else if constexpr (std::is_array_v<M>) {
        write_items(sink, value);
    } else if constexpr (std::is_signed_v<M>) {
        kmem::write_signed(sink, value);
    } else {
        static_assert(std::is_unsigned_v<M>, "loader-plan json: no JSON for this field type");
        kmem::write_dec(sink, value);
    }
}

}  // namespace loader_plan::json

namespace loader_plan {

// {"inputs": where the tool placed the files, "plan": the Plan's field
// list, "boot_info": the block as the kernel gets it, "warning_messages":
// the warnings as text, "minimum_table_frames"}.
template <kmem::CharSink S>
void write_json_document(S& sink, const Context& context) {
    namespace reflect = loader_api::reflect;
    const auto key = [&](std::string_view name) {
        reflect::write_json_string(sink, name);
        sink.put(':');
    };
    sink.put('{');
    key("inputs");
    sink.put('{');
    key("dtb");
    reflect::write_json_string(sink, context.dtb_path);
    sink.put(',');
    key("kernel");
    reflect::write_json_string(sink, context.kernel_path);
    const std::pair<std::string_view, kmem::PhysicalRange> ranges[] = {{"loader_text", context.loader_text},
                                                                       {"loader_data", context.loader_data},
                                                                       {"kernel_file", context.kernel_file},
                                                                       {"device_tree", context.device_tree}};
    for (const auto& [name, range] : ranges) {
        sink.put(',');
        key(name);
        json::write(sink, range);
    }
    sink.put(',');
    key("boot_hart");
    kmem::write_dec(sink, context.boot_hart);
    sink.put(',');
    key("mode_cap");
    if (context.mode_capped) json::write(sink, context.mode_cap);
    else kmem::write(sink, "null");
    sink.put(',');
    key("probed_mode");
    json::write(sink, context.probed);
    sink.put(',');
    key("firmware_reserve_added");
    if (context.firmware_added) json::write(sink, context.firmware);
    else kmem::write(sink, "null");
    sink.put(',');
    key("entropy");
    reflect::write_json_string(sink, to_text(context.entropy));
    sink.put(',');
    key("entropy_bytes");
    kmem::write_dec(sink, context.entropy_bytes);
    sink.put('}');
    sink.put(',');
    key("plan");
    json::write(sink, static_cast<const loader_api::BasicPlan&>(*context.plan));
    sink.put(',');
    key("boot_info");
    reflect::write_boot_info_json(sink, context.plan->boot_info());
    sink.put(',');
    key("warning_messages");
    sink.put('[');
    for (std::size_t i = 0; i < context.plan->warnings.size(); ++i) {
        if (i != 0) sink.put(',');
        reflect::write_json_string(sink, text_of(context.plan->warnings[i]));
    }
    sink.put(']');
    sink.put(',');
    key("minimum_table_frames");
    kmem::write_dec(sink, context.minimum_table_frames);
    sink.put('}');
}

}  // namespace loader_plan

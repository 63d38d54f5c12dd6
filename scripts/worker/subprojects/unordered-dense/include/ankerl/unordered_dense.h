// Lectern stand-in for ankerl::unordered_dense (header-only, not packaged in
// Debian 12). mediasoup's worker only uses ankerl::unordered_dense::{map,set,hash},
// so we alias them onto the standard containers.
//
// WHY a custom hash: std::hash of an integer is the identity in libstdc++, and
// the worker keys maps by SSRCs, ports and values it combines itself with
// ankerl::unordered_dense::hash<uintN_t>{}(x). ankerl's hash is avalanching, so
// we mix integers/enums/pointers with the splitmix64 finalizer to keep the same
// quality of distribution. Everything else falls back to std::hash.
//
// Difference to the real library: iteration order is not insertion order
// (ankerl iterates a dense vector); the worker does not rely on it.
#ifndef LECTERN_ANKERL_UNORDERED_DENSE_SHIM_H
#define LECTERN_ANKERL_UNORDERED_DENSE_SHIM_H

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>
#include <utility>

namespace ankerl::unordered_dense
{
	namespace detail
	{
		constexpr std::uint64_t mix64(std::uint64_t x) noexcept
		{
			x ^= x >> 30U;
			x *= 0xbf58476d1ce4e5b9ULL;
			x ^= x >> 27U;
			x *= 0x94d049bb133111ebULL;
			x ^= x >> 31U;

			return x;
		}
	} // namespace detail

	// Generic case: defer to std::hash (strings, string_views, user types with
	// a std::hash specialization).
	template<typename T, typename Enable = void>
	struct hash
	{
		std::uint64_t operator()(const T& obj) const
		  noexcept(noexcept(std::declval<std::hash<T>>()(std::declval<const T&>())))
		{
			return static_cast<std::uint64_t>(std::hash<T>{}(obj));
		}
	};

	template<typename T>
	struct hash<T, std::enable_if_t<std::is_integral_v<T>>>
	{
		using is_avalanching = void;

		std::uint64_t operator()(T obj) const noexcept
		{
			return detail::mix64(static_cast<std::uint64_t>(obj));
		}
	};

	template<typename T>
	struct hash<T, std::enable_if_t<std::is_enum_v<T>>>
	{
		using is_avalanching = void;

		std::uint64_t operator()(T obj) const noexcept
		{
			return detail::mix64(static_cast<std::uint64_t>(static_cast<std::underlying_type_t<T>>(obj)));
		}
	};

	template<typename T>
	struct hash<T*>
	{
		using is_avalanching = void;

		std::uint64_t operator()(T* obj) const noexcept
		{
			return detail::mix64(static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(obj)));
		}
	};

	template<
	  class Key,
	  class T,
	  class Hash      = hash<Key>,
	  class KeyEqual  = std::equal_to<Key>,
	  class Allocator = std::allocator<std::pair<const Key, T>>>
	using map = std::unordered_map<Key, T, Hash, KeyEqual, Allocator>;

	template<
	  class Key,
	  class Hash      = hash<Key>,
	  class KeyEqual  = std::equal_to<Key>,
	  class Allocator = std::allocator<Key>>
	using set = std::unordered_set<Key, Hash, KeyEqual, Allocator>;
} // namespace ankerl::unordered_dense

#endif

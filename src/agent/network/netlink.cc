#include "agent/network/netlink.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <sys/socket.h>

#include <cstring>
#include <functional>

#include "agent/network/netns.h"

namespace berth::agent::net {

std::unexpected<Error> netlinkError(const std::string& what, int err, const std::string& kernel_message) {
  std::string message = what + ": " + std::strerror(err);
  if (!kernel_message.empty()) message += " (" + kernel_message + ")";
  ErrorCode code = ErrorCode::kIo;
  if (err == EEXIST) code = ErrorCode::kAlreadyExists;
  if (err == ENODEV || err == ESRCH || err == EADDRNOTAVAIL) code = ErrorCode::kNotFound;
  return std::unexpected(Error{code, std::move(message), {}, err});
}

namespace {

// Receive buffer large enough for one datagram of a dump (libmnl's advice).
constexpr size_t kRecvBufferSize = 32768;
constexpr size_t kSendBufferSize = 4096;

using MessageHandler = std::function<void(const nlmsghdr*)>;

// Pulls the human-readable NLMSGERR_ATTR_MSG out of an error message's
// extended ack, if the kernel sent one.
std::string extackMessage(const nlmsghdr* nlh) {
  if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS)) return {};
  const auto* err = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(nlh));
  size_t offset = sizeof(nlmsgerr);
  if (!(nlh->nlmsg_flags & NLM_F_CAPPED)) offset += err->msg.nlmsg_len - sizeof(nlmsghdr);
  size_t payload_len = mnl_nlmsg_get_payload_len(nlh);
  if (offset >= payload_len) return {};
  std::string out;
  const char* base = static_cast<const char*>(mnl_nlmsg_get_payload(nlh)) + offset;
  mnl_attr_parse_payload(
      base, payload_len - offset,
      [](const nlattr* attr, void* data) -> int {
        if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_MSG && mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == 0) {
          *static_cast<std::string*>(data) = mnl_attr_get_str(attr);
        }
        return MNL_CB_OK;
      },
      &out);
  return out;
}

nlmsghdr* startMessage(char* buf, uint16_t type, uint16_t flags) {
  nlmsghdr* nlh = mnl_nlmsg_put_header(buf);
  nlh->nlmsg_type = type;
  nlh->nlmsg_flags = NLM_F_REQUEST | flags;
  return nlh;
}

ifinfomsg* putIfinfo(nlmsghdr* nlh, int index) {
  auto* ifi = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifinfomsg)));
  ifi->ifi_family = AF_UNSPEC;
  ifi->ifi_index = index;
  return ifi;
}

void setUpFlag(ifinfomsg* ifi, bool up) {
  ifi->ifi_change |= IFF_UP;
  if (up) ifi->ifi_flags |= IFF_UP;
}

LinkInfo parseLink(const nlmsghdr* nlh) {
  LinkInfo info;
  const auto* ifi = static_cast<const ifinfomsg*>(mnl_nlmsg_get_payload(nlh));
  info.index = ifi->ifi_index;
  info.up = ifi->ifi_flags & IFF_UP;
  mnl_attr_parse(
      nlh, sizeof(ifinfomsg),
      [](const nlattr* attr, void* data) -> int {
        auto* out = static_cast<LinkInfo*>(data);
        switch (mnl_attr_get_type(attr)) {
          case IFLA_IFNAME:
            if (mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == 0) out->name = mnl_attr_get_str(attr);
            break;
          case IFLA_MASTER:
            if (mnl_attr_validate(attr, MNL_TYPE_U32) == 0) out->master = static_cast<int>(mnl_attr_get_u32(attr));
            break;
          case IFLA_ADDRESS:
            if (mnl_attr_get_payload_len(attr) == 6) {
              MacAddress mac;
              std::memcpy(mac.bytes.data(), mnl_attr_get_payload(attr), 6);
              out->mac = mac;
            }
            break;
          case IFLA_LINKINFO:
            mnl_attr_parse_nested(
                attr,
                [](const nlattr* inner, void* d) -> int {
                  if (mnl_attr_get_type(inner) == IFLA_INFO_KIND &&
                      mnl_attr_validate(inner, MNL_TYPE_STRING) == 0) {
                    // IFLA_INFO_KIND is NUL-terminated in practice; bound it anyway.
                    const char* s = mnl_attr_get_str(inner);
                    static_cast<LinkInfo*>(d)->kind.assign(s, strnlen(s, mnl_attr_get_payload_len(inner)));
                  }
                  return MNL_CB_OK;
                },
                out);
            break;
        }
        return MNL_CB_OK;
      },
      &info);
  return info;
}

}  // namespace

struct MnlNetlink::Socket {
  mnl_socket* nl = nullptr;
  uint32_t portid = 0;
  uint32_t seq = 0;
  std::vector<char> recv_buffer = std::vector<char>(kRecvBufferSize);

  ~Socket() {
    if (nl) mnl_socket_close(nl);
  }

  // Sends one request and reads until its ack (or, for a dump, NLMSG_DONE).
  // Data messages of the request go to `on_message`.
  Status transact(nlmsghdr* nlh, const std::string& what, const MessageHandler& on_message = {}) {
    const bool dump = (nlh->nlmsg_flags & NLM_F_DUMP) == NLM_F_DUMP;
    if (!dump) nlh->nlmsg_flags |= NLM_F_ACK;
    nlh->nlmsg_seq = ++seq;
    if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) return netlinkError(what + ": send", errno);
    while (true) {
      ssize_t n = mnl_socket_recvfrom(nl, recv_buffer.data(), recv_buffer.size());
      if (n < 0) {
        if (errno == EINTR) continue;
        return netlinkError(what + ": receive", errno);
      }
      int remaining = static_cast<int>(n);
      for (auto* msg = reinterpret_cast<const nlmsghdr*>(recv_buffer.data()); mnl_nlmsg_ok(msg, remaining);
           msg = mnl_nlmsg_next(msg, &remaining)) {
        // Replies to an earlier request that gave up half way are skipped.
        if (msg->nlmsg_seq != seq || msg->nlmsg_pid != portid) continue;
        if (msg->nlmsg_type == NLMSG_ERROR) {
          if (mnl_nlmsg_get_payload_len(msg) < sizeof(nlmsgerr)) return netlinkError(what + ": short ack", EBADMSG);
          int error = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(msg))->error;
          if (error == 0) return {};
          return netlinkError(what, -error, extackMessage(msg));
        }
        if (msg->nlmsg_type == NLMSG_DONE) {
          if (mnl_nlmsg_get_payload_len(msg) >= sizeof(int)) {
            int error = *static_cast<const int*>(mnl_nlmsg_get_payload(msg));
            if (error < 0) return netlinkError(what, -error);
          }
          return {};
        }
        if (on_message && msg->nlmsg_type >= NLMSG_MIN_TYPE) on_message(msg);
      }
    }
  }
};

Result<std::unique_ptr<MnlNetlink>> MnlNetlink::open() {
  auto socket = std::make_unique<Socket>();
  socket->nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
  if (!socket->nl) return netlinkError("netlink socket", errno);
  int on = 1;
  // Extended acks carry the kernel's reason ("Unknown device type", ...);
  // capped acks keep error replies small. Both are best effort.
  mnl_socket_setsockopt(socket->nl, NETLINK_EXT_ACK, &on, sizeof on);
  mnl_socket_setsockopt(socket->nl, NETLINK_CAP_ACK, &on, sizeof on);
  if (mnl_socket_bind(socket->nl, 0, MNL_SOCKET_AUTOPID) < 0) return netlinkError("netlink bind", errno);
  socket->portid = mnl_socket_get_portid(socket->nl);
  return std::unique_ptr<MnlNetlink>(new MnlNetlink(std::move(socket)));
}

MnlNetlink::MnlNetlink(std::unique_ptr<Socket> socket) : socket_(std::move(socket)) {}
MnlNetlink::~MnlNetlink() = default;

Result<std::unique_ptr<Netlink>> MnlNetlink::openIn(int netns_fd) {
  // The socket binds to the namespace of the thread that creates it; enter
  // just long enough to create it.
  auto entered = BERTH_TRY(ScopedNetnsEnter::enter(netns_fd));
  auto nl = BERTH_TRY(MnlNetlink::open());
  return std::unique_ptr<Netlink>(std::move(nl));
}

Status MnlNetlink::createBridge(const std::string& name, std::optional<MacAddress> mac) {
  char buf[kSendBufferSize];
  nlmsghdr* nlh = startMessage(buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
  putIfinfo(nlh, 0);
  mnl_attr_put_strz(nlh, IFLA_IFNAME, name.c_str());
  if (mac) mnl_attr_put(nlh, IFLA_ADDRESS, 6, mac->bytes.data());
  nlattr* linkinfo = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
  mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "bridge");
  mnl_attr_nest_end(nlh, linkinfo);
  return socket_->transact(nlh, "create bridge " + name);
}

Status MnlNetlink::createVeth(const VethSpec& spec) {
  char buf[kSendBufferSize];
  nlmsghdr* nlh = startMessage(buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
  ifinfomsg* ifi = putIfinfo(nlh, 0);
  if (spec.up) setUpFlag(ifi, true);
  mnl_attr_put_strz(nlh, IFLA_IFNAME, spec.name.c_str());
  if (spec.master > 0) mnl_attr_put_u32(nlh, IFLA_MASTER, static_cast<uint32_t>(spec.master));
  if (spec.mtu > 0) mnl_attr_put_u32(nlh, IFLA_MTU, static_cast<uint32_t>(spec.mtu));
  nlattr* linkinfo = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
  mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "veth");
  nlattr* data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
  nlattr* peer = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
  // VETH_INFO_PEER holds a whole ifinfomsg followed by the peer's attributes.
  auto* peer_ifi = static_cast<ifinfomsg*>(mnl_nlmsg_get_payload_tail(nlh));
  nlh->nlmsg_len += MNL_ALIGN(sizeof(ifinfomsg));
  std::memset(peer_ifi, 0, sizeof(ifinfomsg));
  peer_ifi->ifi_family = AF_UNSPEC;
  // No IFF_UP for the peer here: the kernel configures the peer before the
  // pair is joined, and opening a veth without its peer fails (ENOTCONN).
  mnl_attr_put_strz(nlh, IFLA_IFNAME, spec.peer_name.c_str());
  if (spec.peer_netns_fd >= 0) mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, static_cast<uint32_t>(spec.peer_netns_fd));
  if (spec.peer_mac) mnl_attr_put(nlh, IFLA_ADDRESS, 6, spec.peer_mac->bytes.data());
  if (spec.mtu > 0) mnl_attr_put_u32(nlh, IFLA_MTU, static_cast<uint32_t>(spec.mtu));
  mnl_attr_nest_end(nlh, peer);
  mnl_attr_nest_end(nlh, data);
  mnl_attr_nest_end(nlh, linkinfo);
  return socket_->transact(nlh, "create veth " + spec.name);
}

Status MnlNetlink::moveToNetns(int index, int netns_fd) {
  char buf[kSendBufferSize];
  nlmsghdr* nlh = startMessage(buf, RTM_NEWLINK, 0);
  putIfinfo(nlh, index);
  mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, static_cast<uint32_t>(netns_fd));
  return socket_->transact(nlh, "move link " + std::to_string(index) + " to netns");
}

Status MnlNetlink::setUp(int index, bool up) {
  char buf[kSendBufferSize];
  nlmsghdr* nlh = startMessage(buf, RTM_NEWLINK, 0);
  setUpFlag(putIfinfo(nlh, index), up);
  return socket_->transact(nlh, std::string("set link ") + std::to_string(index) + (up ? " up" : " down"));
}

Status MnlNetlink::setMaster(int index, int master) {
  char buf[kSendBufferSize];
  nlmsghdr* nlh = startMessage(buf, RTM_NEWLINK, 0);
  putIfinfo(nlh, index);
  mnl_attr_put_u32(nlh, IFLA_MASTER, static_cast<uint32_t>(master));
  return socket_->transact(nlh, "set master of link " + std::to_string(index));
}

Status MnlNetlink::deleteLink(int index) {
  char buf[kSendBufferSize];
  nlmsghdr* nlh = startMessage(buf, RTM_DELLINK, 0);
  putIfinfo(nlh, index);
  return socket_->transact(nlh, "delete link " + std::to_string(index));
}

Result<LinkInfo> MnlNetlink::linkByName(const std::string& name) {
  char buf[kSendBufferSize];
  nlmsghdr* nlh = startMessage(buf, RTM_GETLINK, 0);
  putIfinfo(nlh, 0);
  mnl_attr_put_strz(nlh, IFLA_IFNAME, name.c_str());
  std::optional<LinkInfo> found;
  BERTH_TRY(socket_->transact(nlh, "get link " + name, [&](const nlmsghdr* msg) {
    if (msg->nlmsg_type == RTM_NEWLINK) found = parseLink(msg);
  }));
  if (!found) return netlinkError("get link " + name, ENODEV);
  return *found;
}

Result<LinkInfo> MnlNetlink::linkByIndex(int index) {
  char buf[kSendBufferSize];
  nlmsghdr* nlh = startMessage(buf, RTM_GETLINK, 0);
  putIfinfo(nlh, index);
  std::optional<LinkInfo> found;
  BERTH_TRY(socket_->transact(nlh, "get link " + std::to_string(index), [&](const nlmsghdr* msg) {
    if (msg->nlmsg_type == RTM_NEWLINK) found = parseLink(msg);
  }));
  if (!found) return netlinkError("get link " + std::to_string(index), ENODEV);
  return *found;
}

Result<std::vector<LinkInfo>> MnlNetlink::links() {
  char buf[kSendBufferSize];
  nlmsghdr* nlh = startMessage(buf, RTM_GETLINK, NLM_F_DUMP);
  putIfinfo(nlh, 0);
  std::vector<LinkInfo> out;
  BERTH_TRY(socket_->transact(nlh, "list links", [&](const nlmsghdr* msg) {
    if (msg->nlmsg_type == RTM_NEWLINK) out.push_back(parseLink(msg));
  }));
  return out;
}

namespace {

void putAddressMessage(nlmsghdr* nlh, int index, const Ipv4Prefix& address) {
  auto* ifa = static_cast<ifaddrmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifaddrmsg)));
  ifa->ifa_family = AF_INET;
  ifa->ifa_prefixlen = static_cast<uint8_t>(address.length);
  ifa->ifa_scope = RT_SCOPE_UNIVERSE;
  ifa->ifa_index = static_cast<uint32_t>(index);
  mnl_attr_put_u32(nlh, IFA_LOCAL, address.address.networkOrder());
  mnl_attr_put_u32(nlh, IFA_ADDRESS, address.address.networkOrder());
}

}  // namespace

Status MnlNetlink::addAddress(int index, const Ipv4Prefix& address) {
  char buf[kSendBufferSize];
  nlmsghdr* nlh = startMessage(buf, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL);
  putAddressMessage(nlh, index, address);
  if (address.length < 31) mnl_attr_put_u32(nlh, IFA_BROADCAST, address.broadcast().networkOrder());
  return socket_->transact(nlh, "add address " + address.toString());
}

Status MnlNetlink::deleteAddress(int index, const Ipv4Prefix& address) {
  char buf[kSendBufferSize];
  nlmsghdr* nlh = startMessage(buf, RTM_DELADDR, 0);
  putAddressMessage(nlh, index, address);
  return socket_->transact(nlh, "delete address " + address.toString());
}

Result<std::vector<AddressInfo>> MnlNetlink::addresses(int index) {
  char buf[kSendBufferSize];
  nlmsghdr* nlh = startMessage(buf, RTM_GETADDR, NLM_F_DUMP);
  auto* ifa = static_cast<ifaddrmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifaddrmsg)));
  ifa->ifa_family = AF_INET;
  std::vector<AddressInfo> out;
  BERTH_TRY(socket_->transact(nlh, "list addresses", [&](const nlmsghdr* msg) {
    if (msg->nlmsg_type != RTM_NEWADDR) return;
    const auto* m = static_cast<const ifaddrmsg*>(mnl_nlmsg_get_payload(msg));
    if (m->ifa_family != AF_INET || (index > 0 && static_cast<int>(m->ifa_index) != index)) return;
    struct Attrs {
      std::optional<uint32_t> local, address;
    } attrs;
    mnl_attr_parse(
        msg, sizeof(ifaddrmsg),
        [](const nlattr* attr, void* data) -> int {
          auto* a = static_cast<Attrs*>(data);
          if (mnl_attr_validate(attr, MNL_TYPE_U32) != 0) return MNL_CB_OK;
          if (mnl_attr_get_type(attr) == IFA_LOCAL) a->local = mnl_attr_get_u32(attr);
          if (mnl_attr_get_type(attr) == IFA_ADDRESS) a->address = mnl_attr_get_u32(attr);
          return MNL_CB_OK;
        },
        &attrs);
    std::optional<uint32_t> be = attrs.local ? attrs.local : attrs.address;
    if (!be) return;
    out.push_back(AddressInfo{static_cast<int>(m->ifa_index),
                              Ipv4Prefix{Ipv4Address::fromNetworkOrder(*be), m->ifa_prefixlen}});
  }));
  return out;
}

Status MnlNetlink::addRoute(const Ipv4Prefix& destination, std::optional<Ipv4Address> gateway, int oif) {
  char buf[kSendBufferSize];
  nlmsghdr* nlh = startMessage(buf, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL);
  auto* rtm = static_cast<rtmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(rtmsg)));
  rtm->rtm_family = AF_INET;
  rtm->rtm_dst_len = static_cast<uint8_t>(destination.length);
  rtm->rtm_table = RT_TABLE_MAIN;
  rtm->rtm_protocol = RTPROT_BOOT;
  rtm->rtm_scope = gateway ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK;
  rtm->rtm_type = RTN_UNICAST;
  if (destination.length > 0) mnl_attr_put_u32(nlh, RTA_DST, destination.network().networkOrder());
  if (gateway) mnl_attr_put_u32(nlh, RTA_GATEWAY, gateway->networkOrder());
  if (oif > 0) mnl_attr_put_u32(nlh, RTA_OIF, static_cast<uint32_t>(oif));
  return socket_->transact(nlh, "add route " + destination.toString());
}

Result<std::vector<RouteInfo>> MnlNetlink::routes() {
  char buf[kSendBufferSize];
  nlmsghdr* nlh = startMessage(buf, RTM_GETROUTE, NLM_F_DUMP);
  auto* rtm = static_cast<rtmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(rtmsg)));
  rtm->rtm_family = AF_INET;
  std::vector<RouteInfo> out;
  BERTH_TRY(socket_->transact(nlh, "list routes", [&](const nlmsghdr* msg) {
    if (msg->nlmsg_type != RTM_NEWROUTE) return;
    const auto* m = static_cast<const rtmsg*>(mnl_nlmsg_get_payload(msg));
    if (m->rtm_family != AF_INET || m->rtm_type != RTN_UNICAST) return;
    struct Attrs {
      uint32_t table = 0;
      RouteInfo route;
    } attrs;
    attrs.table = m->rtm_table;
    attrs.route.destination.length = m->rtm_dst_len;
    mnl_attr_parse(
        msg, sizeof(rtmsg),
        [](const nlattr* attr, void* data) -> int {
          auto* a = static_cast<Attrs*>(data);
          if (mnl_attr_validate(attr, MNL_TYPE_U32) != 0) return MNL_CB_OK;
          uint32_t v = mnl_attr_get_u32(attr);
          switch (mnl_attr_get_type(attr)) {
            case RTA_TABLE: a->table = v; break;
            case RTA_DST: a->route.destination.address = Ipv4Address::fromNetworkOrder(v); break;
            case RTA_GATEWAY: a->route.gateway = Ipv4Address::fromNetworkOrder(v); break;
            case RTA_OIF: a->route.oif = static_cast<int>(v); break;
          }
          return MNL_CB_OK;
        },
        &attrs);
    if (attrs.table == RT_TABLE_MAIN) out.push_back(attrs.route);
  }));
  return out;
}

}  // namespace berth::agent::net

# Fan-out bench helper: sends UDP datagrams with a chosen source address and port, one per input line
# "<src ip> <src port> <dst ip> <dst port> <payload hex>". The bench's native receivers need it to send the ICE
# client's STUN checks from the port their mediasoup transport owns (needs root: a raw socket). IPPROTO_RAW
# sockets only send, so the helper does not get a copy of every UDP packet on the machine.
import socket
import struct
import sys

sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
for line in sys.stdin:
    src, sport, dst, dport, payload_hex = line.split()
    payload = bytes.fromhex(payload_hex)
    udp = struct.pack('!HHHH', int(sport), int(dport), 8 + len(payload), 0) + payload  # checksum 0: none (IPv4)
    ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(udp), 0, 0x4000, 64, socket.IPPROTO_UDP, 0,
                     socket.inet_aton(src), socket.inet_aton(dst))
    sock.sendto(ip + udp, (dst, 0))

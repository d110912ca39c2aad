"""Line framing, encoding, delivery and the TCP/UDP servers shared by filelog, emf, tcplog and udplog."""

from receivers.lines.config import LineSourceConfig, SocketSourceConfig
from receivers.lines.delivery import Outcome, bad_input, deliver
from receivers.lines.encoding import Recoder, check_encoding
from receivers.lines.framing import LineFramer, Lines
from receivers.lines.intake import LineIntake, Router
from receivers.lines.receiver import SocketReceiver
from receivers.lines.server import TcpLineServer, UdpLineServer

__all__ = [
    "LineFramer", "LineIntake", "LineSourceConfig", "Lines", "Outcome", "Recoder", "Router",
    "SocketReceiver", "SocketSourceConfig", "TcpLineServer", "UdpLineServer", "bad_input", "check_encoding", "deliver",
]

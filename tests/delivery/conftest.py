from tests.peers.fixtures import *

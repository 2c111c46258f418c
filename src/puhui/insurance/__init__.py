"""Internet insurance (互联网保险): products as data, quotes, earned premium and reserves, claims."""

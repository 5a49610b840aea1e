# bench sources

# config sources

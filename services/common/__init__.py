"""The chassis: what every service needs, done one way. It holds no domain logic."""
